"""``agentfold runs stuck|sweep`` and ``agentfold maintenance retention``: what they
print, what they change, and one-line errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from agentfold_core.data_access.doors import writing
from agentfold_core.data_access.project_lifecycle import create_project
from agentfold_core.data_access.runtime.project_metadata import update_project_metadata
from agentfold_core.data_access.runtime.runs import RUNS, get_run, start_run
from agentfold_core.db.engine import create_database
from agentfold_core.db.types import utcnow
from agentfold_core.scopes import ProjectScope, TenantScope
from tests.conftest import Ids
from tests.migrations.conftest import Agentfold
from tests.support.databases import TestDatabases


async def _runs(databases: TestDatabases, ids: Ids) -> ProjectScope:
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    scope = ProjectScope(ids.tenant, ids.project)
    runtime = databases.runtime
    for run_id, age in (("stuck", timedelta(minutes=10)), ("alive", timedelta(seconds=5))):
        await start_run(runtime)(scopes=scope, data={"id": run_id, "agent_id": "a"})
        async with writing(runtime, scope) as access:
            key = RUNS.key(access.target, {"run_id": run_id})
            await RUNS.update_row(access, key, {"heartbeat_at": utcnow() - age})
    # An old finished tree for retention.
    await start_run(runtime)(scopes=scope, data={"id": "old", "agent_id": "a"})
    async with writing(runtime, scope) as access:
        key = RUNS.key(access.target, {"run_id": "old"})
        old = utcnow() - timedelta(days=40)
        await RUNS.update_row(access, key, {"status": "completed", "heartbeat_at": old})
        await access.conn.execute(
            RUNS.table.update()
            .where(RUNS.table.c.id == "old", RUNS.table.c.tenant_id == ids.tenant)
            .values(created_at=old)
        )
    await update_project_metadata(runtime)(scopes=scope, data={"retention_run_days": 30})
    return scope


@pytest.fixture
async def project_runs(databases: TestDatabases, ids: Ids) -> ProjectScope:
    """A project with a stuck run, a live run and an expired run."""
    return await _runs(databases, ids)


def _status(databases: TestDatabases, scope: ProjectScope, run_id: str) -> str | None:
    async def read() -> str | None:
        runtime = create_database(databases.runtime_url, "runtime")
        try:
            run = await get_run(runtime)(scopes=scope, run_id=run_id)
        finally:
            await runtime.dispose()
        return None if run is None else run.status

    return asyncio.run(read())


def test_stuck_lists_and_sweep_fails(
    databases: TestDatabases,
    project_runs: ProjectScope,
    agentfold: Callable[[TestDatabases | None], Agentfold],
) -> None:
    run = agentfold(databases)
    prefix = f"{project_runs.tenant_id}/{project_runs.project_id}/"
    listed = run("runs", "stuck", "--older-than", "300", "--limit", "10000")
    assert listed.status == 0, listed.err
    assert f"{prefix}stuck agent a, last seen" in listed.out
    assert f"{prefix}alive" not in listed.out
    assert _status(databases, project_runs, "stuck") == "running"

    swept = run("runs", "sweep", "--older-than", "300")
    assert swept.status == 0, swept.err
    assert f"failed {prefix}stuck agent a" in swept.out
    assert f"{prefix}alive" not in swept.out
    assert swept.out.splitlines()[-1].endswith("stuck run(s) failed")
    assert _status(databases, project_runs, "stuck") == "failed"
    assert _status(databases, project_runs, "alive") == "running"
    assert f"{prefix}stuck" not in run("runs", "stuck", "--limit", "10000").out

    bad = run("runs", "sweep", "--older-than", "0")
    assert bad.status == 1
    assert bad.err.startswith("agentfold: error: older_than must be positive")
    assert "Traceback" not in bad.err


def test_retention_reports_what_it_removed(
    databases: TestDatabases,
    project_runs: ProjectScope,
    agentfold: Callable[[TestDatabases | None], Agentfold],
) -> None:
    run = agentfold(databases)
    result = run("maintenance", "retention", "--tenant", project_runs.tenant_id)
    assert result.status == 0, result.err
    assert result.out.splitlines() == [
        f"{project_runs.tenant_id}/{project_runs.project_id}: removed 1 agent_runs",
        "removed 1 agent_runs",
    ]
    assert _status(databases, project_runs, "old") is None
    assert _status(databases, project_runs, "alive") == "running"
    again = run("maintenance", "retention", "--tenant", project_runs.tenant_id)
    assert again.out.splitlines() == ["nothing to remove"]


def test_commands_on_a_database_without_schema_fail_in_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    agentfold: Callable[[TestDatabases | None], Agentfold],
) -> None:
    monkeypatch.setenv("AGENTFOLD_RUNTIME_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/r.db")
    run = agentfold(None)
    for argv in (("runs", "stuck"), ("runs", "sweep"), ("maintenance", "retention")):
        result = run(*argv)
        assert result.status == 1, argv
        assert result.err.startswith("agentfold: error: the runtime database is not initialised")
        assert result.err.count("\n") == 1
        assert "Traceback" not in result.err
        assert "fix: agentfold db upgrade --db runtime" in result.err
