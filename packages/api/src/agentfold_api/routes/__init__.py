"""Route groups of the service."""
