"""Credential stores behind one interface, credential references resolving to them, and
the encrypted store's guarantees: no plaintext at rest, ciphertext bound to its row."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from agentfold_core.credentials.environment import EnvironmentStore
from agentfold_core.credentials.memory import MemoryStore
from agentfold_core.credentials.references import (
    CredentialStores,
    credential_secret,
    credential_target,
    default_stores,
)
from agentfold_core.credentials.store import MAX_SECRET_BYTES, CredentialStore
from agentfold_core.data_access.doors import reading
from agentfold_core.data_access.manage.credentials import create_credential_reference
from agentfold_core.data_access.runtime.credential_secrets import (
    CREDENTIAL_SECRETS,
    list_credential_secrets,
    read_sealed,
    read_sealed_secret,
    sealed_of,
    store_sealed_secret,
)
from agentfold_core.errors import (
    CredentialStoreUnavailable,
    MasterKeyMissing,
    NotFound,
    ReadOnlyCredentialStore,
    SecretUndecryptable,
    ValidationFailed,
)
from agentfold_core.scopes import ProjectScope
from tests.conftest import Ids
from tests.support.credentials import SECRET_VALUE, encrypted, project, ring
from tests.support.databases import TestDatabases

StoreFactory = Callable[[TestDatabases], CredentialStore]
STORES: dict[str, StoreFactory] = {
    "encrypted": lambda dbs: encrypted(dbs, ring("k1")),
    "memory": lambda dbs: MemoryStore(),
}


@pytest.mark.parametrize("kind", sorted(STORES))
async def test_round_trip_through_a_writable_store(
    databases: TestDatabases, ids: Ids, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    scope = await project(databases, ids.tenant, ids.project)
    store = STORES[kind](databases)
    assert store.kind == kind
    assert store.availability().available
    with caplog.at_level(logging.DEBUG):
        assert await store.get(scope, "openai") is None
        assert not await store.has(scope, "openai")
        assert await store.info(scope, "openai") is None
        info = await store.set(scope, "openai", SECRET_VALUE)
        assert (info.store, info.key) == (kind, "openai")
        assert info.updated_at is not None
        assert await store.has(scope, "openai")
        assert await store.get(scope, "openai") == SECRET_VALUE
        again = await store.set(scope, "openai", SECRET_VALUE + "-2")
        assert again.updated_at is not None
        assert again.updated_at >= info.updated_at
        assert await store.get(scope, "openai") == SECRET_VALUE + "-2"
        # Another project of the tenant has its own secrets.
        other = ProjectScope(ids.tenant, f"{ids.project}-x")
        assert await store.get(other, "openai") is None
        assert await store.delete(scope, "openai") is True
        assert await store.delete(scope, "openai") is False
        assert await store.get(scope, "openai") is None
        for bad in ("", "a\x00b", "x" * (MAX_SECRET_BYTES + 1)):
            with pytest.raises(ValidationFailed) as invalid:
                await store.set(scope, "openai", bad)
            assert invalid.value.message.startswith("invalid secret value: must")
    assert SECRET_VALUE not in caplog.text


async def test_the_environment_store_reads_only_variables_under_its_prefix() -> None:
    environ = {
        "AGENTFOLD_CREDENTIAL_OPENAI_KEY": SECRET_VALUE,
        "AGENTFOLD_SECRET_KEYS": "k1:whatever",
        "AGENTFOLD_CREDENTIAL_EMPTY": "",
    }
    store = EnvironmentStore(environ=environ)
    scope = ProjectScope("acme", "support")
    assert store.variable("openai.key") == "AGENTFOLD_CREDENTIAL_OPENAI_KEY"
    assert await store.get(scope, "openai-key") == SECRET_VALUE
    assert await store.has(scope, "openai-key")
    assert await store.info(scope, "openai-key") is not None
    # Nothing outside the prefix is reachable, and an empty variable is no secret.
    assert await store.get(scope, "SECRET_KEYS") is None
    assert not await store.has(scope, "empty")
    for write in (store.set(scope, "openai-key", "x"), store.delete(scope, "openai-key")):
        with pytest.raises(ReadOnlyCredentialStore, match="AGENTFOLD_CREDENTIAL_OPENAI_KEY"):
            await write
    assert environ["AGENTFOLD_CREDENTIAL_OPENAI_KEY"] == SECRET_VALUE


async def test_references_resolve_to_their_store_and_key(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await project(databases, ids.tenant, ids.project)
    memory = MemoryStore()
    stores = default_stores(
        databases.runtime,
        ring("k1"),
        environ={"AGENTFOLD_CREDENTIAL_SHARED": "from-env"},
        memory=memory,
    )
    create = create_credential_reference(databases.manage)
    references: dict[str, dict[str, Any]] = {
        "sealed": {"type": "encrypted", "retrieval_params": {"key": "openai"}},
        "plain-id": {"type": "encrypted"},
        "shared": {"type": "env"},
        "scratch": {"type": "memory", "retrieval_params": {"key": "scratch-key"}},
        "elsewhere": {"type": "encrypted", "credential_store_id": "vault-2"},
        "keychain": {"type": "keychain"},
        "bad-key": {"type": "encrypted", "retrieval_params": {"key": "no spaces"}},
    }
    for reference_id, fields in references.items():
        await create(scopes=scope, data={"id": reference_id, "name": reference_id, **fields})
    target = credential_target(databases.manage, stores)

    sealed = await target(scopes=scope, credential_reference_id="sealed")
    assert (sealed.store.kind, sealed.store_id, sealed.key) == ("encrypted", "default", "openai")
    assert sealed.scope == scope
    await sealed.set(SECRET_VALUE)
    assert (await target(scopes=scope, credential_reference_id="plain-id")).key == "plain-id"
    secret = credential_secret(databases.manage, stores)
    assert await secret(scopes=scope, credential_reference_id="sealed") == SECRET_VALUE
    assert await secret(scopes=scope, credential_reference_id="plain-id") is None
    assert await secret(scopes=scope, credential_reference_id="shared") == "from-env"
    scratch = await target(scopes=scope, credential_reference_id="scratch")
    await scratch.set("in memory")
    assert await memory.get(scope, "scratch-key") == "in memory"

    for reference_id in ("elsewhere", "keychain"):
        with pytest.raises(CredentialStoreUnavailable, match="is configured"):
            await target(scopes=scope, credential_reference_id=reference_id)
    with pytest.raises(ValidationFailed) as invalid:
        await target(scopes=scope, credential_reference_id="bad-key")
    assert invalid.value.errors[0]["field"] == "retrieval_params.key"
    with pytest.raises(NotFound):
        await target(scopes=scope, credential_reference_id="missing")
    # A store without master keys is unavailable, saying why.
    locked = default_stores(databases.runtime, None)
    with pytest.raises(CredentialStoreUnavailable, match="set AGENTFOLD_SECRET_KEYS"):
        await credential_target(databases.manage, locked)(
            scopes=scope, credential_reference_id="sealed"
        )


async def test_the_database_holds_no_plaintext_and_reads_show_no_envelope(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await project(databases, ids.tenant, ids.project)
    store = encrypted(databases, ring("k1"))
    await store.set(scope, "openai", SECRET_VALUE)
    table = CREDENTIAL_SECRETS.table
    async with reading(databases.runtime, scope) as access:
        raw = (await access.conn.execute(select(table))).mappings().all()
    stored = [dict(r) for r in raw if r["tenant_id"] == ids.tenant]
    assert len(stored) == 1
    assert SECRET_VALUE not in repr(stored)
    assert stored[0]["key_id"] == "k1"
    assert stored[0]["version"] == 1
    listed = await list_credential_secrets(databases.runtime)(scopes=scope)
    assert [row.id for row in listed.data] == ["openai"]
    shown = listed.data[0].model_dump()
    assert set(shown).isdisjoint({"wrapped_key", "wrap_nonce", "nonce", "ciphertext"})
    assert shown["key_id"] == "k1"
    with pytest.raises(ValidationFailed, match="cannot filter credential_secret by 'ciphertext'"):
        await list_credential_secrets(databases.runtime)(scopes=scope, where={"ciphertext": "x"})


@pytest.mark.parametrize("where", ["tenant", "project", "secret"])
async def test_a_ciphertext_copied_to_another_row_fails_to_decrypt(
    databases: TestDatabases, ids: Ids, where: str
) -> None:
    keys = ring("k1")
    store = encrypted(databases, keys)
    source = await project(databases, ids.tenant, ids.project)
    await store.set(source, "openai", SECRET_VALUE)
    read = read_sealed_secret(databases.runtime)
    row = await read(scopes=source, credential_secret_id="openai")  # noqa: S106 - a key name
    assert row is not None
    if where == "tenant":
        destination, name = await project(databases, ids.other_tenant, ids.project), "openai"
    elif where == "project":
        destination, name = await project(databases, ids.tenant, f"{ids.project}-2"), "openai"
    else:
        destination, name = source, "anthropic"
    # The whole envelope, as a database copy would move it.
    await store_sealed_secret(databases.runtime)(
        scopes=destination, credential_secret_id=name, sealed=sealed_of(row)
    )
    assert await store.has(destination, name)
    with pytest.raises(SecretUndecryptable, match="master key 'k1'") as failed:
        await store.get(destination, name)
    assert failed.value.context["key_id"] == "k1"
    assert SECRET_VALUE not in str(failed.value)
    assert await store.get(source, "openai") == SECRET_VALUE


async def test_a_missing_or_wrong_master_key_names_the_key_id(
    databases: TestDatabases, ids: Ids, caplog: pytest.LogCaptureFixture
) -> None:
    scope = await project(databases, ids.tenant, ids.project)
    await encrypted(databases, ring("k1")).set(scope, "openai", SECRET_VALUE)
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(MasterKeyMissing, match="master key 'k1' is not in the key ring") as a:
            await encrypted(databases, ring("k2")).get(scope, "openai")
        with pytest.raises(SecretUndecryptable, match="with master key 'k1'") as b:
            await encrypted(databases, ring("k1")).get(scope, "openai")
        locked = encrypted(databases, None)
        with pytest.raises(MasterKeyMissing, match="'k1'") as c:
            await locked.get(scope, "openai")
        with pytest.raises(MasterKeyMissing, match="set AGENTFOLD_SECRET_KEYS"):
            await locked.set(scope, "openai", SECRET_VALUE)
    assert [e.value.context["key_id"] for e in (a, b, c)] == ["k1", "k1", "k1"]
    assert not locked.availability().available
    # Never a plaintext fallback: still sealed, still under k1.
    assert await encrypted(databases, None).has(scope, "openai")
    assert SECRET_VALUE not in caplog.text


def test_unknown_store_types_are_unavailable() -> None:
    stores = CredentialStores({("memory", "default"): MemoryStore()})
    with pytest.raises(CredentialStoreUnavailable, match="no 'nango' credential store"):
        stores.store("nango")


async def test_the_envelope_read_is_the_stored_rows_envelope_in_its_scope_only(
    databases: TestDatabases, ids: Ids
) -> None:
    store = encrypted(databases, ring("k1"))
    scope = await project(databases, ids.tenant, ids.project)
    other = await project(databases, ids.other_tenant, ids.project)
    name, missing = "openai", "anthropic"  # secret names (not secrets)
    await store.set(scope, name, SECRET_VALUE)
    row = await read_sealed_secret(databases.runtime)(scopes=scope, credential_secret_id=name)
    assert row is not None
    read = read_sealed(databases.runtime)
    assert await read(scopes=scope, credential_secret_id=name) == sealed_of(row)
    assert await read(scopes=scope, credential_secret_id=missing) is None
    # The same project id and secret name under another tenant: nothing.
    assert await read(scopes=other, credential_secret_id=name) is None
