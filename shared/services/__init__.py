"""Use cases. Each takes the ports it needs as arguments."""
