"""Key rotation: every data key re-wrapped under the current master key, while the
service keeps reading and writing, resumable, and never losing a concurrent write."""

from __future__ import annotations

import asyncio
import random

import pytest

from agentfold_core.credentials.rotation import RotationReport, rotate_secrets
from agentfold_core.data_access.runtime.credential_secrets import (
    Rewrap,
    count_secrets_by_key,
    rewrap_secrets,
    sealed_of,
    secrets_to_rewrap,
)
from agentfold_core.scopes import ProjectScope, TenantScope
from agentfold_core.secrets.envelope import SecretIdentity, rewrap
from agentfold_core.secrets.keyring import KeyRing
from tests.conftest import Ids
from tests.support.credentials import encrypted, only, project, ring
from tests.support.databases import TestDatabases


async def _seed(
    databases: TestDatabases, keys: KeyRing, scopes: list[ProjectScope], count: int
) -> dict[tuple[ProjectScope, str], str]:
    store = encrypted(databases, keys)
    values = {}
    for n in range(count):
        scope = scopes[n % len(scopes)]
        values[(scope, f"secret-{n}")] = f"value-{n}-v0"
        await store.set(scope, f"secret-{n}", values[(scope, f"secret-{n}")])
    return values


async def test_rotation_under_concurrent_reads_and_writes_loses_nothing(
    databases: TestDatabases, ids: Ids
) -> None:
    scopes = [
        await project(databases, ids.tenant, ids.project),
        await project(databases, ids.tenant, f"{ids.project}-b"),
    ]
    both = ring("k2", "k1")
    old = only(both, "k1")
    expected = await _seed(databases, old, scopes, 24)
    keys = sorted(expected, key=lambda k: k[1])
    initial = dict(expected)
    # The service has the new ring (k2 current, k1 still there) before rotation starts.
    serving = encrypted(databases, both)
    stop = asyncio.Event()
    read_errors: list[str] = []

    async def write(mine: list[tuple[ProjectScope, str]], rounds: int) -> None:
        for round_ in range(1, rounds + 1):
            for scope, name in mine:
                value = f"{name}-v{round_}"
                await serving.set(scope, name, value)
                expected[(scope, name)] = value
                await asyncio.sleep(0)

    async def read() -> None:
        chooser = random.Random(7)  # noqa: S311 - test data, not cryptography
        while not stop.is_set():
            scope, name = chooser.choice(keys)
            found = await serving.get(scope, name)
            # The value before the writers, or one a writer wrote: never anything else.
            if found != initial[(scope, name)] and not (found or "").startswith(f"{name}-v"):
                read_errors.append(f"{name}: {found!r}")
            await asyncio.sleep(0)

    batches: list[int] = []

    async def rotate() -> RotationReport:
        return await rotate_secrets(
            databases.runtime,
            both,
            batch_size=3,
            tenant_id=ids.tenant,
            progress=lambda report: batches.append(report.batches),
        )

    readers = [asyncio.create_task(read()) for _ in range(2)]
    try:
        report, *_ = await asyncio.gather(rotate(), write(keys[0::3], 3), write(keys[1::3], 2))
    finally:
        stop.set()
        await asyncio.gather(*readers)
    assert read_errors == []
    assert batches, "the rotation ran in batches"
    assert report.failed == 0
    assert report.remaining == 0
    assert report.by_key == {"k2": 24}
    # Only the new key is needed now, and every last write is there.
    new_only = encrypted(databases, only(both, "k2"))
    for (scope, name), value in expected.items():
        assert await new_only.get(scope, name) == value, name
    # Nothing left to do: a second run re-wraps nothing.
    again = await rotate_secrets(databases.runtime, both, tenant_id=ids.tenant)
    assert (again.rewrapped, again.remaining) == (0, 0)


async def test_a_rewrap_of_a_row_written_since_it_was_read_is_not_applied(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await project(databases, ids.tenant, ids.project)
    both = ring("k2", "k1")
    await _seed(databases, only(both, "k1"), [scope], 2)
    rows = await secrets_to_rewrap(databases.runtime)(key_id="k2", limit=10, tenant_id=ids.tenant)
    assert [r.id for r in rows] == ["secret-0", "secret-1"]
    rewraps = [
        Rewrap(r.project_id, r.id, r.version, rewrap(both, _identity(r), sealed_of(r)))
        for r in rows
    ]
    # A writer replaces secret-0 between the read and the re-wrap.
    await encrypted(databases, both).set(scope, "secret-0", "written meanwhile")
    applied = await rewrap_secrets(databases.runtime)(
        scopes=TenantScope(ids.tenant), rewraps=rewraps
    )
    assert applied == 1
    assert await encrypted(databases, only(both, "k2")).get(scope, "secret-0") == (
        "written meanwhile"
    )
    assert await encrypted(databases, only(both, "k2")).get(scope, "secret-1") == "value-1-v0"


async def test_an_interrupted_rotation_resumes(databases: TestDatabases, ids: Ids) -> None:
    scope = await project(databases, ids.tenant, ids.project)
    both = ring("k2", "k1")
    expected = await _seed(databases, only(both, "k1"), [scope], 7)

    def interrupt(report: RotationReport) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await rotate_secrets(
            databases.runtime, both, batch_size=3, tenant_id=ids.tenant, progress=interrupt
        )
    # The first batch committed; the rest is still under the old key, and readable.
    assert await count_secrets_by_key(databases.runtime)(tenant_id=ids.tenant) == {
        "k1": 4,
        "k2": 3,
    }
    report = await rotate_secrets(databases.runtime, both, batch_size=3, tenant_id=ids.tenant)
    assert (report.rewrapped, report.remaining) == (4, 0)
    new_only = encrypted(databases, only(both, "k2"))
    for (row_scope, name), value in expected.items():
        assert await new_only.get(row_scope, name) == value


async def test_secrets_the_ring_cannot_open_are_reported_and_left_alone(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await project(databases, ids.tenant, ids.project)
    both = ring("k2", "k1")
    await _seed(databases, only(both, "k1"), [scope], 3)
    await encrypted(databases, ring("lost")).set(scope, "orphan", "sealed under a lost key")
    report = await rotate_secrets(databases.runtime, both, tenant_id=ids.tenant)
    assert report.rewrapped == 3
    assert report.failed == 1
    assert report.errors == [
        "master key 'lost' is not in the key ring (AGENTFOLD_SECRET_KEYS or the key file "
        "holds 'k2', 'k1'): add it back to decrypt what is still wrapped under it"
    ]
    assert report.by_key == {"k2": 3, "lost": 1}
    assert report.remaining == 1


def _identity(row: object) -> SecretIdentity:
    return SecretIdentity(row.tenant_id, row.project_id, row.id)  # type: ignore[attr-defined]
