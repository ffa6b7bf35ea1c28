"""Function entrypoints: one blueprint per module. Parse, call one service, map errors. Thin."""
