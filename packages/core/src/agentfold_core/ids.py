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


def generate_id() -> str:
    """A random 21-character lowercase alphanumeric id."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(GENERATED_ID_LENGTH))


def relation_id(*parts: str) -> str:
    """Id of a relation derived from its natural key, identical on every branch."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]
