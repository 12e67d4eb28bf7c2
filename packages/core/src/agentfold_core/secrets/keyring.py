"""Master keys: a key ring of ids and 256-bit keys, the first one current.

The ring is written ``id:base64key`` per entry, entries separated by commas or new
lines (``AGENTFOLD_SECRET_KEYS``, or the key file of the embedded default). The first
entry encrypts new secrets; the others only decrypt what is still wrapped under them,
until ``agentfold keys rotate`` re-wraps it. No message ever quotes key material.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

from agentfold_core.errors import ConfigurationError, MasterKeyMissing

KEY_BYTES = 32
KEY_ID_MAX_LENGTH = 64
_KEY_ID = re.compile(rf"^[A-Za-z0-9._-]{{1,{KEY_ID_MAX_LENGTH}}}$")
_SEPARATORS = re.compile(r"[,\n]")


@dataclass(frozen=True, slots=True)
class KeyRing:
    """Master keys by id, in order; the first is current."""

    # Never in a repr: a ring printed in a traceback or a log must not show its keys.
    keys: Mapping[str, bytes] = field(repr=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise ConfigurationError("a key ring needs at least one master key")
        for key_id, key in self.keys.items():
            _check_id(key_id, "a key ring")
            if len(key) != KEY_BYTES:
                raise ConfigurationError(f"master key {key_id!r} is not {KEY_BYTES} bytes long")
        object.__setattr__(self, "keys", MappingProxyType(dict(self.keys)))

    @property
    def current_id(self) -> str:
        """The id of the key that wraps new data keys."""
        return next(iter(self.keys))

    @property
    def ids(self) -> tuple[str, ...]:
        """Every key id, the current one first."""
        return tuple(self.keys)

    def key(self, key_id: str) -> bytes:
        """The key named ``key_id``; ``MasterKeyMissing`` when the ring lacks it."""
        found = self.keys.get(key_id)
        if found is None:
            raise MasterKeyMissing(
                f"master key {key_id!r} is not in the key ring (AGENTFOLD_SECRET_KEYS or the "
                f"key file holds {', '.join(repr(i) for i in self.ids)}): add it back to "
                "decrypt what is still wrapped under it",
                key_id=key_id,
            )
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys)


def parse_key_ring(text: str, source: str) -> KeyRing:
    """The ring written in ``text`` (``source`` names where it came from in errors)."""
    keys: dict[str, bytes] = {}
    entries = [e.strip() for e in _SEPARATORS.split(text)]
    for position, entry in enumerate((e for e in entries if e), start=1):
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep:
            raise ConfigurationError(f"{source}: entry {position} is not 'id:base64key'")
        _check_id(key_id, source)
        if key_id in keys:
            raise ConfigurationError(f"{source}: key id {key_id!r} appears twice")
        key = _decode(encoded.strip())
        if key is None or len(key) != KEY_BYTES:
            raise ConfigurationError(
                f"{source}: key {key_id!r} is not {KEY_BYTES} bytes of base64 "
                "(make one with: agentfold keys new)"
            )
        keys[key_id] = key
    if not keys:
        raise ConfigurationError(f"{source} holds no master key")
    return KeyRing(keys)


def format_key_ring(ring: KeyRing) -> str:
    """``ring`` written as its entries, one per line, the current one first."""
    return "".join(f"{key_id}:{_encode(ring.key(key_id))}\n" for key_id in ring.ids)


def new_entry(now: datetime | None = None) -> str:
    """A new random master key as a ring entry ``id:base64key`` (the id says when)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d")
    return f"key-{stamp}-{secrets.token_hex(3)}:{_encode(secrets.token_bytes(KEY_BYTES))}"


def _check_id(key_id: str, source: str) -> None:
    if not _KEY_ID.fullmatch(key_id):
        raise ConfigurationError(
            f"{source}: a key id is 1..{KEY_ID_MAX_LENGTH} characters of [A-Za-z0-9._-]"
        )


def _encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _decode(text: str) -> bytes | None:
    # Standard or URL-safe alphabet, padded or not.
    padded = text + "=" * (-len(text) % 4)
    try:
        return base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return None
