"""Data access for the versioned manage database."""
