"""Envelope encryption of one secret with AES-256-GCM.

Each secret gets its own random data key; the data key encrypts the value and is
itself encrypted ("wrapped") by a master key of the ring. Both encryptions carry the
secret's identity (tenant, project, key name) as associated data, so a sealed record
copied to another tenant's, project's or secret's row does not open there. Rotation
re-wraps the data key only: the value's ciphertext never changes.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from agentfold_core.errors import SecretUndecryptable
from agentfold_core.secrets.keyring import KEY_BYTES, KeyRing

SCHEME = "aes-256-gcm-v1"
NONCE_BYTES = 12
_DATA_CONTEXT = b"agentfold/secret/v1"
_WRAP_CONTEXT = b"agentfold/data-key/v1"


@dataclass(frozen=True, slots=True)
class SecretIdentity:
    """Where a secret belongs: bound into its ciphertext as associated data."""

    tenant_id: str
    project_id: str
    name: str

    def associated_data(self, context: bytes, *extra: str) -> bytes:
        """The identity as bytes (ids hold no NUL, so the join is unambiguous)."""
        parts = (self.tenant_id, self.project_id, self.name, *extra)
        return context + b"\x00" + b"\x00".join(p.encode() for p in parts)

    def describe(self) -> str:
        """How messages name the secret (never its value)."""
        return f"secret {self.name!r} of project {self.project_id!r} (tenant {self.tenant_id!r})"


@dataclass(frozen=True, slots=True)
class Sealed:
    """A sealed secret as stored: base64 fields and the master key id wrapping it."""

    scheme: str
    key_id: str
    wrapped_key: str
    wrap_nonce: str
    nonce: str
    ciphertext: str

    def __repr__(self) -> str:
        # A record in a log or a traceback shows its key id only.
        return f"Sealed(scheme={self.scheme!r}, key_id={self.key_id!r})"


def seal(ring: KeyRing, identity: SecretIdentity, value: str) -> Sealed:
    """``value`` encrypted under a new data key, wrapped by the ring's current key."""
    data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(
        nonce, value.encode(), identity.associated_data(_DATA_CONTEXT)
    )
    key_id, wrap_nonce, wrapped = _wrap(ring, identity, data_key)
    return Sealed(
        scheme=SCHEME,
        key_id=key_id,
        wrapped_key=_b64(wrapped),
        wrap_nonce=_b64(wrap_nonce),
        nonce=_b64(nonce),
        ciphertext=_b64(ciphertext),
    )


def open_sealed(ring: KeyRing, identity: SecretIdentity, sealed: Sealed) -> str:
    """The value of a sealed secret; ``MasterKeyMissing`` when the ring lacks its key,
    ``SecretUndecryptable`` when it does not open (never the ciphertext instead)."""
    data_key = _unwrap(ring, identity, sealed)
    try:
        plain = AESGCM(data_key).decrypt(
            _unb64(sealed.nonce), _unb64(sealed.ciphertext), identity.associated_data(_DATA_CONTEXT)
        )
        return plain.decode()
    except (InvalidTag, ValueError) as exc:
        raise _undecryptable(identity, sealed) from exc


def rewrap(ring: KeyRing, identity: SecretIdentity, sealed: Sealed) -> Sealed:
    """The same secret with its data key wrapped by the ring's current key."""
    data_key = _unwrap(ring, identity, sealed)
    key_id, wrap_nonce, wrapped = _wrap(ring, identity, data_key)
    return Sealed(
        scheme=sealed.scheme,
        key_id=key_id,
        wrapped_key=_b64(wrapped),
        wrap_nonce=_b64(wrap_nonce),
        nonce=sealed.nonce,
        ciphertext=sealed.ciphertext,
    )


def _wrap(ring: KeyRing, identity: SecretIdentity, data_key: bytes) -> tuple[str, bytes, bytes]:
    key_id = ring.current_id
    nonce = os.urandom(NONCE_BYTES)
    # The key id is bound too: a record relabelled to another key id does not open.
    wrapped = AESGCM(ring.key(key_id)).encrypt(
        nonce, data_key, identity.associated_data(_WRAP_CONTEXT, key_id)
    )
    return key_id, nonce, wrapped


def _unwrap(ring: KeyRing, identity: SecretIdentity, sealed: Sealed) -> bytes:
    if sealed.scheme != SCHEME:
        raise SecretUndecryptable(
            f"{identity.describe()} is sealed with the unknown scheme {sealed.scheme!r}",
            key_id=sealed.key_id,
        )
    master = ring.key(sealed.key_id)
    try:
        return AESGCM(master).decrypt(
            _unb64(sealed.wrap_nonce),
            _unb64(sealed.wrapped_key),
            identity.associated_data(_WRAP_CONTEXT, sealed.key_id),
        )
    except (InvalidTag, ValueError) as exc:
        raise _undecryptable(identity, sealed) from exc


def _undecryptable(identity: SecretIdentity, sealed: Sealed) -> SecretUndecryptable:
    return SecretUndecryptable(
        f"{identity.describe()} does not decrypt with master key {sealed.key_id!r}: the key "
        "under that id is not the one it was sealed with, or the record was altered or "
        "copied from another row",
        key_id=sealed.key_id,
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(text: str) -> bytes:
    # A malformed field is a record that does not open (ValueError, caught above).
    return base64.b64decode(text, validate=True)
