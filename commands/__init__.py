"""Command-line tools for operators and case authors (not deployed with the Function app)."""
