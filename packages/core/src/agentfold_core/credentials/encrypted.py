"""The default credential store: secrets sealed with AES-256-GCM in the runtime
database (table ``credential_secrets``), under the master keys of a key ring."""

from __future__ import annotations

from agentfold_core.credentials.store import Availability, SecretInfo, check_value
from agentfold_core.data_access.doors import Db
from agentfold_core.data_access.runtime.credential_secrets import (
    delete_credential_secret,
    get_credential_secret,
    read_sealed,
    store_sealed_secret,
)
from agentfold_core.db.runtime.schema import CredentialSecretPublic
from agentfold_core.errors import MasterKeyMissing
from agentfold_core.scopes import ProjectScope
from agentfold_core.secrets.envelope import SecretIdentity, open_sealed, seal
from agentfold_core.secrets.keyring import KeyRing
from agentfold_core.secrets.master_keys import VARIABLE


class EncryptedStore:
    """Secrets sealed in the runtime database; without a key ring it seals and opens
    nothing (an error naming the key id), it never stores or returns plaintext."""

    kind = "encrypted"

    def __init__(self, runtime: Db, ring: KeyRing | None) -> None:
        self.runtime = runtime
        self.ring = ring

    def __repr__(self) -> str:
        current = None if self.ring is None else self.ring.current_id
        return f"EncryptedStore(current_key={current!r})"

    def on(self, runtime: Db) -> EncryptedStore:
        """This store reading and writing through ``runtime`` (a unit: its transaction)."""
        return EncryptedStore(runtime, self.ring)

    def availability(self) -> Availability:
        """Available when a key ring is configured."""
        if self.ring is None:
            return Availability(False, f"no master key configured: set {VARIABLE}")
        return Availability(True)

    def _ring(self, key_id: str | None) -> KeyRing:
        if self.ring is None:
            wanted = "to seal a new secret" if key_id is None else f"{key_id!r}"
            raise MasterKeyMissing(
                f"no master key configured (master key {wanted} needed): set {VARIABLE}",
                key_id=key_id,
            )
        return self.ring

    async def get(self, scope: ProjectScope, key: str) -> str | None:
        """The decrypted value, or ``None`` when none is stored."""
        sealed = await read_sealed(self.runtime)(scopes=scope, credential_secret_id=key)
        if sealed is None:
            return None
        return open_sealed(self._ring(sealed.key_id), _identity(scope, key), sealed)

    async def set(self, scope: ProjectScope, key: str, value: str) -> SecretInfo:
        """Seal ``value`` under a new data key wrapped by the current master key."""
        sealed = seal(self._ring(None), _identity(scope, key), check_value(value))
        stored = await store_sealed_secret(self.runtime)(
            scopes=scope, credential_secret_id=key, sealed=sealed
        )
        return _info(stored)

    async def has(self, scope: ProjectScope, key: str) -> bool:
        """Whether a secret is stored (nothing is decrypted)."""
        return await self.info(scope, key) is not None

    async def info(self, scope: ProjectScope, key: str) -> SecretInfo | None:
        """When it was set and which master key wraps it (nothing is decrypted)."""
        found = await get_credential_secret(self.runtime)(scopes=scope, credential_secret_id=key)
        return None if found is None else _info(found)

    async def delete(self, scope: ProjectScope, key: str) -> bool:
        """Remove the sealed secret; whether one was stored."""
        return await delete_credential_secret(self.runtime)(scopes=scope, credential_secret_id=key)


def _identity(scope: ProjectScope, key: str) -> SecretIdentity:
    return SecretIdentity(scope.tenant_id, scope.project_id, key)


def _info(row: CredentialSecretPublic) -> SecretInfo:
    return SecretInfo(
        store=EncryptedStore.kind, key=row.id, updated_at=row.updated_at, key_id=row.key_id
    )
