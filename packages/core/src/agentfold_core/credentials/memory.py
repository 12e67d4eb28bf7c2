"""A credential store in process memory: for tests and throwaway setups (gone on exit)."""

from __future__ import annotations

from agentfold_core.credentials.store import Availability, SecretInfo, check_value
from agentfold_core.db.types import utcnow
from agentfold_core.ids import check_id
from agentfold_core.scopes import ProjectScope

_Key = tuple[str, str, str]


class MemoryStore:
    """Secrets in a dictionary of this process."""

    kind = "memory"

    def __init__(self) -> None:
        self._values: dict[_Key, tuple[str, SecretInfo]] = {}

    def __repr__(self) -> str:
        # Never the values.
        return f"MemoryStore({len(self._values)} secrets)"

    def availability(self) -> Availability:
        """Always available."""
        return Availability(True)

    async def get(self, scope: ProjectScope, key: str) -> str | None:
        """The secret's value, or ``None``."""
        found = self._values.get(_key(scope, key))
        return None if found is None else found[0]

    async def set(self, scope: ProjectScope, key: str, value: str) -> SecretInfo:
        """Create or replace the secret."""
        info = SecretInfo(store=self.kind, key=key, updated_at=utcnow())
        self._values[_key(scope, key)] = (check_value(value), info)
        return info

    async def has(self, scope: ProjectScope, key: str) -> bool:
        """Whether a secret is stored."""
        return _key(scope, key) in self._values

    async def info(self, scope: ProjectScope, key: str) -> SecretInfo | None:
        """When the secret was set, or ``None``."""
        found = self._values.get(_key(scope, key))
        return None if found is None else found[1]

    async def delete(self, scope: ProjectScope, key: str) -> bool:
        """Remove the secret; whether one was stored."""
        return self._values.pop(_key(scope, key), None) is not None


def _key(scope: ProjectScope, key: str) -> _Key:
    return scope.tenant_id, scope.project_id, check_id(key, "key")
