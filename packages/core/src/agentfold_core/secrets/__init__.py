"""Secrets: API-key material and hashing (credential encryption joins here later)."""
