"""Secrets: API-key material and hashing, master keys and envelope encryption."""
