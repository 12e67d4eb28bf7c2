"""Resource id rules: user-chosen readable ids, generated ids and derived relation ids."""

from __future__ import annotations

import hashlib
import re
import secrets
import string

from agentfold_core.errors import InvalidId, field_error

ID_PATTERN = r"^[a-zA-Z0-9._-]+$"
ID_MAX_LENGTH = 255
RESERVED_IDS = frozenset({"new"})
GENERATED_ID_LENGTH = 21

_ID_RE = re.compile(ID_PATTERN)
_ALPHABET = string.ascii_lowercase + string.digits


def is_valid_id(value: str) -> bool:
    """Tell whether ``value`` is a usable resource id."""
    return (
        0 < len(value) <= ID_MAX_LENGTH
        and _ID_RE.fullmatch(value) is not None
        and value not in RESERVED_IDS
    )


def check_id(value: str, field: str = "id") -> str:
    """Return ``value`` if it is a valid resource id, else raise ``InvalidId`` (a
    ``ValueError``) naming ``field``."""
    if not is_valid_id(value):
        message = (
            f"invalid id {value!r}: 1..{ID_MAX_LENGTH} characters of [a-zA-Z0-9._-], not 'new'"
        )
        raise InvalidId(message, errors=[field_error(field, message, "invalid_id")])
    return value


# Random bytes map onto the alphabet through a table; the top bytes that would favour
# its first characters (256 is not a multiple of 36) are dropped, so every character is
# equally likely. One call for random bytes per id, where ``secrets.choice`` made one
# per character (40 us an id, generated twice per created message).
_UNBIASED = 256 - 256 % len(_ALPHABET)
_TO_ALPHABET = bytes(ord(_ALPHABET[b % len(_ALPHABET)]) if b < _UNBIASED else 0 for b in range(256))
_BIASED = bytes(range(_UNBIASED, 256))


def generate_id() -> str:
    """A random 21-character lowercase alphanumeric id."""
    found = b""
    while len(found) < GENERATED_ID_LENGTH:
        found += secrets.token_bytes(32).translate(_TO_ALPHABET, _BIASED)
    return found[:GENERATED_ID_LENGTH].decode()


def relation_id(*parts: str) -> str:
    """Id of a relation derived from its natural key, identical on every branch."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]
