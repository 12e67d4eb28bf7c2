"""The operator credential: from ``AGENTFOLD_ADMIN_TOKEN``, or generated for the
embedded SQLite default into ``admin-token`` (mode 0600) next to the databases."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from agentfold_api.settings import ApiSettings
from agentfold_core.db.engine import Database
from agentfold_core.secrets.api_keys import KEY_PREFIX

TOKEN_FILE = "admin-token"  # noqa: S105 - a file name, not a credential
_PREFIX = "afop_"


@dataclass(frozen=True, slots=True)
class OperatorToken:
    """A digest of the operator token (the plaintext is not kept in memory)."""

    digest: bytes
    # Whether the token is shaped like an API key (``af_...``): if not, no API key
    # can be it, and the request that carries one (nearly every request) is spared
    # the digest.
    key_shaped: bool

    @classmethod
    def of(cls, token: str) -> OperatorToken:
        """The token's digest."""
        return cls(hashlib.sha256(token.encode()).digest(), token.startswith(KEY_PREFIX))

    def matches(self, candidate: str) -> bool:
        """Whether ``candidate`` is the operator token (constant time)."""
        if not self.key_shaped and candidate.startswith(KEY_PREFIX):
            return False
        return hmac.compare_digest(self.digest, hashlib.sha256(candidate.encode()).digest())


@dataclass(frozen=True, slots=True)
class OperatorSetup:
    """The token (or none) and the start-up line that says where it comes from."""

    token: OperatorToken | None
    announcement: str


def token_path(manage: Database) -> Path | None:
    """Where an embedded manage database keeps its generated token: beside its file."""
    return None if manage.file is None else manage.file.parent / TOKEN_FILE


def _read_or_create(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two workers starting together create it once; the loser reads it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    token = _PREFIX + secrets.token_urlsafe(32)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(token + "\n")
    return token


def operator_setup(settings: ApiSettings, manage: Database) -> OperatorSetup:
    """Decide the operator credential for this service."""
    if settings.admin_token is not None:
        value = settings.admin_token.get_secret_value()
        if value:
            return OperatorSetup(
                OperatorToken.of(value), "operator token: from AGENTFOLD_ADMIN_TOKEN"
            )
    path = token_path(manage)
    if path is not None:
        token = _read_or_create(path)
        return OperatorSetup(
            OperatorToken.of(token),
            f"operator token: {path} (send it as 'Authorization: Bearer <token>')",
        )
    return OperatorSetup(
        None,
        "operator routes disabled: set AGENTFOLD_ADMIN_TOKEN to manage tenants and keys",
    )
