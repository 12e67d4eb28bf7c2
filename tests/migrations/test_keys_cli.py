"""``agentfold keys``: new, add, remove, status and rotate, as an operator runs them."""

from __future__ import annotations

import asyncio
import base64
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from agentfold_core.credentials.encrypted import EncryptedStore
from agentfold_core.db.engine import create_database
from agentfold_core.scopes import ProjectScope
from agentfold_core.secrets.keyring import KeyRing, parse_key_ring
from agentfold_core.secrets.master_keys import KEY_FILE
from tests.conftest import Ids
from tests.migrations.conftest import Agentfold
from tests.support.credentials import encrypted, only, project
from tests.support.databases import TestDatabases


def _variable(ring: KeyRing) -> str:
    return ",".join(f"{i}:{base64.b64encode(ring.key(i)).decode()}" for i in ring.ids)


def _read_all(databases: TestDatabases, ring: KeyRing, scope: ProjectScope, n: int) -> list[str]:
    async def read() -> list[str]:
        # This test's own event loop: an engine of its own.
        runtime = create_database(databases.runtime_url, "runtime")
        store = EncryptedStore(runtime, ring)
        try:
            return [str(await store.get(scope, f"s{i}")) for i in range(n)]
        finally:
            await runtime.dispose()

    return asyncio.run(read())


@pytest.fixture
async def sealed_under_k1(databases: TestDatabases, ids: Ids) -> tuple[KeyRing, ProjectScope]:
    """Three secrets of a new project sealed under k1; the ring (k2 current, k1)."""
    both = KeyRing({"k2": os.urandom(32), "k1": os.urandom(32)})
    scope = await project(databases, ids.tenant, ids.project)
    store = encrypted(databases, only(both, "k1"))
    for i in range(3):
        await store.set(scope, f"s{i}", f"value {i}")
    return both, scope


def test_rotate_rewraps_everything_under_the_current_key(
    databases: TestDatabases,
    sealed_under_k1: tuple[KeyRing, ProjectScope],
    agentfold: Callable[[TestDatabases | None], Agentfold],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    both, scope = sealed_under_k1
    run = agentfold(databases)
    monkeypatch.setenv("AGENTFOLD_SECRET_KEYS", _variable(both))
    before = run("keys", "status")
    assert before.status == 0, before.err
    assert before.out.splitlines()[0].startswith("k2 (current): ")
    rotated = run("keys", "rotate", "--tenant", scope.tenant_id, "--batch-size", "2")
    assert rotated.status == 0, rotated.err
    assert rotated.out.splitlines() == [
        "re-wrapped 3 secret(s) under 'k2'",
        "every secret is under 'k2': older keys may leave the ring",
    ]
    assert _read_all(databases, only(both, "k2"), scope, 3) == ["value 0", "value 1", "value 2"]
    again = run("keys", "rotate", "--tenant", scope.tenant_id)
    assert again.out.splitlines()[0] == "re-wrapped 0 secret(s) under 'k2'"
    assert run("keys", "rotate", "--batch-size", "0").status == 2


def test_rotate_reports_secrets_it_cannot_open(
    databases: TestDatabases,
    sealed_under_k1: tuple[KeyRing, ProjectScope],
    agentfold: Callable[[TestDatabases | None], Agentfold],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    both, scope = sealed_under_k1
    run = agentfold(databases)
    monkeypatch.setenv("AGENTFOLD_SECRET_KEYS", _variable(only(both, "k2")))
    result = run("keys", "rotate", "--tenant", scope.tenant_id)
    assert result.status == 1
    lines = result.out.splitlines()
    assert lines[0] == "re-wrapped 0 secret(s) under 'k2'"
    assert lines[1].startswith("error: master key 'k1' is not in the key ring")
    assert lines[-1] == "not done: 3 under 'k1'"
    status = run("keys", "status")
    assert any(line.startswith("k1 (NOT IN THE RING): ") for line in status.out.splitlines())


def test_the_key_file_of_the_embedded_default(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    agentfold: Callable[[TestDatabases | None], Agentfold],
) -> None:
    monkeypatch.setenv("AGENTFOLD_RUNTIME_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/r.db")
    monkeypatch.delenv("AGENTFOLD_SECRET_KEYS", raising=False)
    run = agentfold(None)
    assert run("db", "upgrade", "--db", "runtime").status == 0
    none = run("keys", "status")
    assert none.status == 1
    assert none.err.startswith("agentfold: error: no master keys: ")
    first = run("keys", "add")
    assert first.status == 0, first.err
    path = tmp_path / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = run("keys", "add")
    ring = parse_key_ring(path.read_text(), "file")
    assert len(ring.ids) == 2
    assert second.out.startswith(f"added {ring.current_id!r}, now the current key")
    status = run("keys", "status")
    assert status.out.splitlines() == [
        f"{ring.ids[0]} (current): 0 secret(s)",
        f"{ring.ids[1]}: 0 secret(s)",
    ]
    refused = run("keys", "remove", ring.current_id)
    assert refused.status == 1
    assert "is the current key" in refused.err
    removed = run("keys", "remove", ring.ids[1])
    assert removed.status == 0, removed.err
    assert parse_key_ring(path.read_text(), "file").ids == (ring.current_id,)
    # With the variable set, the file is not the operator's to edit.
    entry = run("keys", "new").out.strip()
    assert parse_key_ring(entry, "new").current_id.startswith("key-")
    monkeypatch.setenv("AGENTFOLD_SECRET_KEYS", entry)
    edit = run("keys", "add")
    assert edit.status == 1
    assert "edit it instead" in edit.err
    assert entry.split(":", 1)[1] not in edit.err
