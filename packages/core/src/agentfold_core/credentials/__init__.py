"""Credential stores: where the secrets that credential references point at live.

Every store has one interface (``store.CredentialStore``): the encrypted database
store (the default), environment variables, and memory (tests). ``references``
resolves a credential reference to its store and key.
"""
