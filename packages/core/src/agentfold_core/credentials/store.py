"""The interface every credential store implements, and what it answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from agentfold_core.errors import ValidationFailed, field_error
from agentfold_core.scopes import ProjectScope

# Bounds one secret (an API key, a token, a private key in PEM), not a document.
MAX_SECRET_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Availability:
    """Whether a store can be used in this process, and if not, why."""

    available: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class SecretInfo:
    """What may be said of a stored secret: never its value."""

    store: str
    key: str
    updated_at: datetime | None = None
    # The master key wrapping it (encrypted store only).
    key_id: str | None = None


class CredentialStore(Protocol):
    """Secrets by (tenant, project, key) in one store.

    ``get`` returns the value or ``None`` when nothing is stored; a value that exists
    but cannot be read is an error (``MasterKeyError``), never ``None`` and never the
    stored form instead.
    """

    @property
    def kind(self) -> str:
        """The store type credential references name (``encrypted``, ``env``, ``memory``)."""
        ...

    def availability(self) -> Availability:
        """Whether the store can be used here."""
        ...

    async def get(self, scope: ProjectScope, key: str) -> str | None:
        """The secret's value, or ``None`` when none is stored."""
        ...

    async def set(self, scope: ProjectScope, key: str, value: str) -> SecretInfo:
        """Create or replace the secret."""
        ...

    async def has(self, scope: ProjectScope, key: str) -> bool:
        """Whether a secret is stored (without reading its value)."""
        ...

    async def info(self, scope: ProjectScope, key: str) -> SecretInfo | None:
        """What may be said of the stored secret, or ``None`` when none is stored."""
        ...

    async def delete(self, scope: ProjectScope, key: str) -> bool:
        """Remove the secret; whether one was stored."""
        ...


def check_value(value: str) -> str:
    """``value`` if it can be stored as a secret, else ``ValidationFailed`` (whose
    message never quotes it)."""
    problem = None
    if not value:
        problem = ("must not be empty", "string_too_short")
    elif "\x00" in value:
        problem = ("must not contain NUL characters", "nul_character")
    elif len(value.encode()) > MAX_SECRET_BYTES:
        problem = (f"must be at most {MAX_SECRET_BYTES} bytes", "string_too_long")
    if problem is not None:
        message, kind = problem
        raise ValidationFailed(
            f"invalid secret value: {message}", errors=[field_error("value", message, kind)]
        )
    return value
