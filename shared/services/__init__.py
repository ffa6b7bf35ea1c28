"""Use cases: objects that own their ports (all defined in ports.py) and speak only simgate's types."""
