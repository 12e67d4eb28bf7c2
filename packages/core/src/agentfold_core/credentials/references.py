"""From a credential reference to its secret: which store, which key.

A reference's ``type`` names the kind of store and ``credential_store_id`` the store of
that kind (``default`` unless several are configured); ``retrieval_params["key"]``
names the secret in it, and defaults to the reference's own id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace

from agentfold_core.credentials.encrypted import EncryptedStore
from agentfold_core.credentials.environment import EnvironmentStore
from agentfold_core.credentials.memory import MemoryStore
from agentfold_core.credentials.store import CredentialStore, SecretInfo
from agentfold_core.data_access.doors import Db
from agentfold_core.data_access.manage.credentials import get_credential_reference
from agentfold_core.db.manage.schema import CredentialReferenceRow
from agentfold_core.errors import (
    CredentialStoreUnavailable,
    NotFound,
    ValidationFailed,
    field_error,
)
from agentfold_core.ids import is_valid_id
from agentfold_core.scopes import ProjectScope
from agentfold_core.secrets.keyring import KeyRing

DEFAULT_STORE_ID = "default"
KEY_PARAM = "key"


@dataclass(frozen=True, slots=True)
class CredentialTarget:
    """Where one reference's secret lives: a store, the project, the key in it."""

    store: CredentialStore
    store_id: str
    scope: ProjectScope
    key: str

    def within(self, unit: Db) -> CredentialTarget:
        """This target with the store's runtime-database work done in ``unit`` (so an
        audit event written there commits with the change); other stores are kept."""
        if isinstance(self.store, EncryptedStore):
            return replace(self, store=self.store.on(unit))
        return self

    async def get(self) -> str | None:
        """The secret's value, or ``None`` when none is stored."""
        return await self.store.get(self.scope, self.key)

    async def set(self, value: str) -> SecretInfo:
        """Create or replace the secret."""
        return await self.store.set(self.scope, self.key, value)

    async def has(self) -> bool:
        """Whether a secret is stored."""
        return await self.store.has(self.scope, self.key)

    async def info(self) -> SecretInfo | None:
        """What may be said of the stored secret, or ``None``."""
        return await self.store.info(self.scope, self.key)

    async def delete(self) -> bool:
        """Remove the secret; whether one was stored."""
        return await self.store.delete(self.scope, self.key)


class CredentialStores:
    """The credential stores of this process, by (type, store id)."""

    def __init__(self, stores: Mapping[tuple[str, str], CredentialStore]) -> None:
        self._stores = dict(stores)

    def store(self, kind: str, store_id: str = DEFAULT_STORE_ID) -> CredentialStore:
        """The store of ``kind`` named ``store_id``; ``CredentialStoreUnavailable`` when
        none is configured or it cannot be used here."""
        found = self._stores.get((kind, store_id))
        if found is None:
            raise CredentialStoreUnavailable(
                f"no {kind!r} credential store {store_id!r} is configured in this service",
                store=kind,
            )
        availability = found.availability()
        if not availability.available:
            raise CredentialStoreUnavailable(
                f"the {kind!r} credential store is unavailable: {availability.reason}",
                store=kind,
            )
        return found

    def target(self, reference: CredentialReferenceRow) -> CredentialTarget:
        """Where ``reference``'s secret lives."""
        return CredentialTarget(
            store=self.store(reference.type, reference.credential_store_id),
            store_id=reference.credential_store_id,
            scope=ProjectScope(reference.tenant_id, reference.project_id),
            key=secret_key(reference),
        )


def secret_key(reference: CredentialReferenceRow) -> str:
    """The key of ``reference``'s secret in its store: ``retrieval_params["key"]``, else
    the reference's id."""
    key = (reference.retrieval_params or {}).get(KEY_PARAM, reference.id)
    if not isinstance(key, str) or not is_valid_id(key):
        message = "must be a key of [a-zA-Z0-9._-], 1..255 characters"
        raise ValidationFailed(
            f"credential reference {reference.id!r} names an invalid secret key",
            errors=[field_error(f"retrieval_params.{KEY_PARAM}", message, "invalid_key")],
            resource="credential_reference",
        )
    return key


def default_stores(
    runtime: Db,
    ring: KeyRing | None,
    *,
    environ: Mapping[str, str] | None = None,
    memory: MemoryStore | None = None,
) -> CredentialStores:
    """The stores of a service: encrypted (runtime database), env and memory."""
    stores: list[CredentialStore] = [
        EncryptedStore(runtime, ring),
        EnvironmentStore(environ=environ),
        memory or MemoryStore(),
    ]
    return CredentialStores({(s.kind, DEFAULT_STORE_ID): s for s in stores})


def credential_target(
    manage: Db, stores: CredentialStores
) -> Callable[..., Awaitable[CredentialTarget]]:
    """Curried: where the secret of a credential reference (read at ``scopes.ref``)
    lives; ``NotFound`` when the reference does not exist."""

    async def _target(*, scopes: ProjectScope, credential_reference_id: str) -> CredentialTarget:
        reference = await get_credential_reference(manage)(
            scopes=scopes, credential_reference_id=credential_reference_id
        )
        if reference is None:
            raise NotFound(
                "credential reference not found",
                resource="credential_reference",
                key={"credential_reference_id": credential_reference_id},
            )
        return stores.target(reference)

    return _target


def credential_secret(manage: Db, stores: CredentialStores) -> Callable[..., Awaitable[str | None]]:
    """Curried: the secret a credential reference points at, or ``None`` when its store
    holds none (what an agent run reads to call a tool)."""

    async def _secret(*, scopes: ProjectScope, credential_reference_id: str) -> str | None:
        target = await credential_target(manage, stores)(
            scopes=scopes, credential_reference_id=credential_reference_id
        )
        return await target.get()

    return _secret
