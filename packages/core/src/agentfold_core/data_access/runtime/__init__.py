"""Data access for the runtime database."""
