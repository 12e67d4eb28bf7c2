"""The stuck-run sweep fails only stale running runs, once each, even when two sweeps
run at once; listing candidates changes nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from agentfold_core.data_access.doors import writing
from agentfold_core.data_access.runtime.calls import record_llm_call
from agentfold_core.data_access.runtime.runs import (
    RUNS,
    create_step,
    get_run,
    get_step,
    heartbeat,
    run_tree,
)
from agentfold_core.data_access.runtime.sweep import stuck_runs, sweep_stuck_runs
from agentfold_core.db.types import utcnow
from agentfold_core.errors import RunFinished, ValidationFailed
from agentfold_core.scopes import ProjectScope
from tests.conftest import Ids
from tests.integration.test_runs import project, start
from tests.support.databases import TestDatabases

STALE = timedelta(minutes=5)


async def age(databases: TestDatabases, scope: ProjectScope, run_id: str, by: timedelta) -> None:
    """Move a run's last heartbeat ``by`` into the past."""
    async with writing(databases.runtime, scope) as access:
        key = RUNS.key(access.target, {"run_id": run_id})
        await RUNS.update_row(access, key, {"heartbeat_at": utcnow() - by})


async def test_sweep_fails_only_stale_running_runs(databases: TestDatabases, ids: Ids) -> None:
    scope = await project(databases, ids.tenant, ids.project)
    runtime = databases.runtime
    await start(databases, scope, "stale")
    await start(databases, scope, "stale-child", "stale")
    await start(databases, scope, "fresh")
    await start(databases, scope, "done")
    await start_queued(databases, scope, "queued")
    await create_step(runtime)(
        scopes=scope, data={"id": "s1", "run_id": "stale-child", "step_number": 1}
    )
    await record_llm_call(runtime)(
        scopes=scope,
        data={"id": "c1", "run_id": "stale-child", "provider": "p", "model": "m", "cost": "0.5"},
    )
    for run_id in ("stale", "stale-child", "done", "queued"):
        await age(databases, scope, run_id, STALE * 2)
    await age(databases, scope, "fresh", STALE / 2)
    async with writing(runtime, scope) as access:
        key = RUNS.key(access.target, {"run_id": "done"})
        await RUNS.update_row(access, key, {"status": "completed"})

    listed = await stuck_runs(runtime, older_than=STALE, limit=10_000)
    mine = {r.run_id for r in listed if r.tenant_id == ids.tenant}
    assert mine == {"stale", "stale-child"}
    unchanged = await get_run(runtime)(scopes=scope, run_id="stale")
    assert unchanged is not None
    assert unchanged.status == "running"

    report = await sweep_stuck_runs(runtime, older_than=STALE)
    assert {r.run_id for r in report.failed if r.tenant_id == ids.tenant} == mine
    statuses = {r.id: r.status for r in await run_tree(runtime)(scopes=scope, run_id="stale")}
    assert statuses == {"stale": "failed", "stale-child": "failed"}
    for run_id, status in (("fresh", "running"), ("done", "completed"), ("queued", "queued")):
        run = await get_run(runtime)(scopes=scope, run_id=run_id)
        assert run is not None
        assert run.status == status, run_id
    child = await get_run(runtime)(scopes=scope, run_id="stale-child")
    assert child is not None
    assert child.error is not None
    assert child.error.code == "heartbeat_timeout"
    step = await get_step(runtime)(scopes=scope, step_id="s1")
    assert step is not None
    assert step.status == "failed"
    parent = await get_run(runtime)(scopes=scope, run_id="stale")
    assert parent is not None
    assert parent.subtree_cost == child.cost == child.subtree_cost
    assert child.cost > 0
    with pytest.raises(RunFinished):
        await heartbeat(runtime)(scopes=scope, run_id="stale")
    again = await sweep_stuck_runs(runtime, older_than=STALE)
    assert not [r for r in again.failed if r.tenant_id == ids.tenant]


async def start_queued(databases: TestDatabases, scope: ProjectScope, run_id: str) -> None:
    """A run waiting to start (no heartbeat expected)."""
    from agentfold_core.data_access.runtime.runs import start_run

    await start_run(databases.runtime)(
        scopes=scope, data={"id": run_id, "agent_id": "a", "status": "queued"}
    )


async def test_two_sweeps_at_once_fail_each_run_once(databases: TestDatabases, ids: Ids) -> None:
    scope = await project(databases, ids.tenant, ids.project)
    runs = [f"r{n}" for n in range(12)]
    for run_id in runs:
        await start(databases, scope, run_id)
        await age(databases, scope, run_id, STALE * 3)
    first, second = await asyncio.gather(
        sweep_stuck_runs(databases.runtime, older_than=STALE, batch_size=5),
        sweep_stuck_runs(databases.runtime, older_than=STALE, batch_size=5),
    )
    a = [r.run_id for r in first.failed if r.tenant_id == ids.tenant]
    b = [r.run_id for r in second.failed if r.tenant_id == ids.tenant]
    assert sorted(a + b) == sorted(runs)
    assert not set(a) & set(b)


async def test_sweep_needs_a_positive_age(databases: TestDatabases) -> None:
    with pytest.raises(ValidationFailed) as info:
        await sweep_stuck_runs(databases.runtime, older_than=timedelta(0))
    assert [e["field"] for e in info.value.errors] == ["older_than"]
