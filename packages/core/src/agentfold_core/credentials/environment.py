"""A read-only credential store over environment variables.

A key ``openai`` is read from ``AGENTFOLD_CREDENTIAL_OPENAI`` (the prefix, then the
key upper-cased with ``.`` and ``-`` as ``_``). Only variables under the prefix are
reachable, so a reference can never read ``AGENTFOLD_SECRET_KEYS`` or a database URL.
The variables are the process's, shared by every tenant: use this store for
credentials the operator provides to all (or on single-tenant installs).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from agentfold_core.credentials.store import Availability, SecretInfo
from agentfold_core.errors import ReadOnlyCredentialStore
from agentfold_core.ids import check_id
from agentfold_core.scopes import ProjectScope

DEFAULT_PREFIX = "AGENTFOLD_CREDENTIAL_"
_UNSAFE = re.compile(r"[^A-Z0-9_]")


class EnvironmentStore:
    """Secrets read from environment variables under a prefix."""

    kind = "env"

    def __init__(
        self, prefix: str = DEFAULT_PREFIX, environ: Mapping[str, str] | None = None
    ) -> None:
        self.prefix = prefix
        # Read at each call (None: the live os.environ), so a restart is not needed
        # after a variable changes in a process that re-reads its environment.
        self._environ = environ

    def __repr__(self) -> str:
        return f"EnvironmentStore(prefix={self.prefix!r})"

    def variable(self, key: str) -> str:
        """The environment variable holding ``key``."""
        return self.prefix + _UNSAFE.sub("_", check_id(key, "key").upper())

    def _lookup(self, key: str) -> str | None:
        environ = os.environ if self._environ is None else self._environ
        return environ.get(self.variable(key)) or None

    def availability(self) -> Availability:
        """Always available (read-only)."""
        return Availability(True)

    async def get(self, scope: ProjectScope, key: str) -> str | None:
        """The variable's value, or ``None`` when it is unset or empty."""
        return self._lookup(key)

    async def set(self, scope: ProjectScope, key: str, value: str) -> SecretInfo:
        """Refused: the environment is the operator's to set."""
        raise self._read_only(key)

    async def has(self, scope: ProjectScope, key: str) -> bool:
        """Whether the variable is set."""
        return self._lookup(key) is not None

    async def info(self, scope: ProjectScope, key: str) -> SecretInfo | None:
        """The store and key when the variable is set (no time is known)."""
        return SecretInfo(store=self.kind, key=key) if self._lookup(key) is not None else None

    async def delete(self, scope: ProjectScope, key: str) -> bool:
        """Refused: the environment is the operator's to change."""
        raise self._read_only(key)

    def _read_only(self, key: str) -> ReadOnlyCredentialStore:
        return ReadOnlyCredentialStore(
            f"the env credential store is read-only: set {self.variable(key)} in the "
            "service's environment instead",
            store=self.kind,
        )
