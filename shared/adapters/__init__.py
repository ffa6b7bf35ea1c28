"""Adapters: each wraps one library and translates its errors into simgate's own."""
