"""Runs: a tree of runs with ancestors, root and depth derived from the parent; cost and
credits rolled up exactly when runs finish; heartbeats, steps and the call log."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest

from agentfold_core.content import TOOL_PAYLOAD_MAX_BYTES
from agentfold_core.data_access.project_lifecycle import create_project
from agentfold_core.data_access.runtime.calls import get_llm_call, record_llm_call, record_tool_call
from agentfold_core.data_access.runtime.cascade import cascade_delete_by_project
from agentfold_core.data_access.runtime.project_metadata import update_project_metadata
from agentfold_core.data_access.runtime.runs import (
    create_step,
    finish_run,
    get_run,
    get_step,
    heartbeat,
    run_tree,
    start_run,
)
from agentfold_core.db.runtime.schema import AgentRunRow
from agentfold_core.errors import (
    Conflict,
    InvalidReference,
    NotFound,
    RunFinished,
    ValidationFailed,
)
from agentfold_core.scopes import ProjectScope, TenantScope
from tests.conftest import Ids
from tests.support.databases import TestDatabases

# root -> a, b ; a -> a1, a2 ; b -> b1
TREE = {"root": None, "a": "root", "b": "root", "a1": "a", "a2": "a", "b1": "b"}


async def project(databases: TestDatabases, tenant: str, project_id: str) -> ProjectScope:
    """A new project (both databases) and its scope."""
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(tenant), data={"id": project_id, "name": project_id}
    )
    return ProjectScope(tenant, project_id)


async def start(
    databases: TestDatabases,
    scope: ProjectScope,
    run_id: str,
    parent: str | None = None,
    *,
    agent: str = "triage",
) -> AgentRunRow:
    """Start run ``run_id`` of ``agent`` under ``parent``."""
    data: dict[str, Any] = {"id": run_id, "agent_id": agent}
    if parent is not None:
        data["parent_run_id"] = parent
    return await start_run(databases.runtime)(scopes=scope, data=data)


def chain(run_id: str) -> list[str]:
    """The ancestors of ``run_id`` in TREE, root first."""
    parents: list[str] = []
    parent = TREE[run_id]
    while parent is not None:
        parents.insert(0, parent)
        parent = TREE[parent]
    return parents


def subtree(run_id: str) -> set[str]:
    """``run_id`` and its descendants in TREE."""
    return {r for r in TREE if r == run_id or run_id in chain(r)}


async def test_three_level_tree_derives_ancestors_and_rolls_up_exactly(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await project(databases, ids.tenant, ids.project)
    rng = random.Random(11)  # noqa: S311 - reproducible amounts, not secrets
    for run_id, parent in TREE.items():
        await start(databases, scope, run_id, parent)
    direct: dict[str, tuple[Decimal, Decimal]] = {}
    for run_id in TREE:
        cost = credits = Decimal(0)
        for n in range(rng.randint(0, 3)):
            # Nine decimal places: a float would lose these.
            call_cost = Decimal(rng.randint(1, 10**9)).scaleb(-9)
            call_credits = Decimal(rng.randint(1, 10**6)).scaleb(-3)
            await record_llm_call(databases.runtime)(
                scopes=scope,
                data={
                    "id": f"{run_id}-call-{n}",
                    "run_id": run_id,
                    "provider": "openai",
                    "model": "gpt-4.1",
                    "input_tokens": 10,
                    "cost": str(call_cost),
                    "credits": str(call_credits),
                },
            )
            cost += call_cost
            credits += call_credits
        direct[run_id] = (cost, credits)
    order = list(TREE)
    rng.shuffle(order)  # parents may finish before their children
    for run_id in order:
        await finish_run(databases.runtime)(scopes=scope, run_id=run_id)

    for run_id in TREE:
        run = await get_run(databases.runtime)(scopes=scope, run_id=run_id)
        assert run is not None
        assert run.ancestors == chain(run_id)
        assert run.root_run_id == "root"
        assert run.depth == len(chain(run_id))
        assert run.parent_run_id == TREE[run_id]
        assert run.status == "completed"
        assert run.finished_at is not None
        assert run.duration_ms is not None
        assert (run.cost, run.credits) == direct[run_id]
        assert run.subtree_cost == sum((direct[r][0] for r in subtree(run_id)), Decimal(0))
        assert run.subtree_credits == sum((direct[r][1] for r in subtree(run_id)), Decimal(0))

    for run_id in TREE:
        tree = await run_tree(databases.runtime)(scopes=scope, run_id=run_id)
        assert {r.id for r in tree} == subtree(run_id)
        assert tree[0].id == run_id
        depths = [r.depth for r in tree]
        assert depths == sorted(depths)


async def test_run_tree_stays_inside_its_tree_and_project(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await project(databases, ids.tenant, ids.project)
    other = await project(databases, ids.tenant, f"{ids.project}-x")
    for run_id, parent in TREE.items():
        await start(databases, scope, run_id, parent)
        # The same ids in another project, and a second tree in the same project.
        await start(databases, other, run_id, parent)
        await start(databases, scope, f"t2-{run_id}", parent and f"t2-{parent}")
    tree = await run_tree(databases.runtime)(scopes=scope, run_id="a")
    assert sorted(r.id for r in tree) == ["a", "a1", "a2"]
    assert {r.project_id for r in tree} == {ids.project}
    with pytest.raises(NotFound):
        await run_tree(databases.runtime)(scopes=scope, run_id="missing")
    with pytest.raises(NotFound):
        await run_tree(databases.runtime)(
            scopes=ProjectScope(ids.other_tenant, ids.project), run_id="a"
        )


async def test_a_child_needs_a_parent_in_the_same_project(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await project(databases, ids.tenant, ids.project)
    foreign = await project(databases, ids.other_tenant, ids.project)
    await start(databases, foreign, "parent")
    with pytest.raises(InvalidReference):
        await start(databases, scope, "child", "parent")
    with pytest.raises(InvalidReference):
        await start(databases, scope, "child", "missing")
    assert await get_run(databases.runtime)(scopes=scope, run_id="child") is None
    await start(databases, scope, "parent")
    child = await start(databases, scope, "child", "parent")
    assert (child.ancestors, child.root_run_id, child.depth) == (["parent"], "parent", 1)
    with pytest.raises(Conflict):
        await start(databases, scope, "child", "parent")


async def test_derived_columns_cannot_be_given(databases: TestDatabases, ids: Ids) -> None:
    scope = await project(databases, ids.tenant, ids.project)
    for field, value in (("depth", 3), ("root_run_id", "x"), ("ancestors", ["x"]), ("cost", "1")):
        with pytest.raises(ValidationFailed) as info:
            await start_run(databases.runtime)(
                scopes=scope, data={"id": "r", "agent_id": "a", field: value}
            )
        assert [e["field"] for e in info.value.errors] == [field]


async def test_heartbeat_and_finish_follow_the_run_lifecycle(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await project(databases, ids.tenant, ids.project)
    runtime = databases.runtime
    queued = await start_run(runtime)(
        scopes=scope, data={"id": "q", "agent_id": "a", "status": "queued"}
    )
    assert (queued.status, queued.started_at, queued.heartbeat_at) == ("queued", None, None)
    beat = await heartbeat(runtime)(scopes=scope, run_id="q")
    assert beat.status == "running"
    assert beat.heartbeat_at is not None
    assert beat.started_at is not None
    again = await heartbeat(runtime)(scopes=scope, run_id="q")
    assert again.heartbeat_at is not None
    assert again.heartbeat_at >= beat.heartbeat_at
    assert again.started_at == beat.started_at

    failed = await finish_run(runtime)(
        scopes=scope,
        run_id="q",
        status="failed",
        error={
            "code": "tool_error",
            "message": "boom",
            "field_errors": [{"field": "q", "message": "bad"}],
        },
    )
    assert failed.status == "failed"
    assert failed.error is not None
    assert failed.error.code == "tool_error"
    assert failed.error.field_errors is not None
    assert failed.error.field_errors[0].field == "q"
    with pytest.raises(RunFinished):
        await heartbeat(runtime)(scopes=scope, run_id="q")
    with pytest.raises(RunFinished):
        await finish_run(runtime)(scopes=scope, run_id="q")
    with pytest.raises(NotFound):
        await heartbeat(runtime)(scopes=scope, run_id="missing")
    with pytest.raises(NotFound):
        await finish_run(runtime)(scopes=ProjectScope(ids.other_tenant, ids.project), run_id="q")


async def test_finish_rejects_bad_input_naming_the_field(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await project(databases, ids.tenant, ids.project)
    await start(databases, scope, "r")
    with pytest.raises(ValidationFailed) as info:
        await finish_run(databases.runtime)(scopes=scope, run_id="r", status="running")
    assert [e["field"] for e in info.value.errors] == ["status"]
    with pytest.raises(ValidationFailed) as info:
        await finish_run(databases.runtime)(
            scopes=scope, run_id="r", status="failed", error={"message": "no code"}
        )
    assert [e["field"] for e in info.value.errors] == ["error.code"]
    run = await get_run(databases.runtime)(scopes=scope, run_id="r")
    assert run is not None
    assert run.status == "running"


async def test_failing_a_run_fails_its_open_steps(databases: TestDatabases, ids: Ids) -> None:
    scope = await project(databases, ids.tenant, ids.project)
    runtime = databases.runtime
    await start(databases, scope, "r")
    await create_step(runtime)(
        scopes=scope, data={"id": "s1", "run_id": "r", "step_number": 1, "status": "completed"}
    )
    await create_step(runtime)(scopes=scope, data={"id": "s2", "run_id": "r", "step_number": 2})
    await finish_run(runtime)(scopes=scope, run_id="r", status="cancelled")
    s1 = await get_step(runtime)(scopes=scope, step_id="s1")
    s2 = await get_step(runtime)(scopes=scope, step_id="s2")
    assert s1 is not None
    assert s1.status == "completed"
    assert s2 is not None
    assert s2.status == "failed"
    assert s2.finished_at is not None


async def test_step_numbers_are_unique_per_run(databases: TestDatabases, ids: Ids) -> None:
    scope = await project(databases, ids.tenant, ids.project)
    runtime = databases.runtime
    await start(databases, scope, "r1")
    await start(databases, scope, "r2")
    await create_step(runtime)(scopes=scope, data={"id": "s1", "run_id": "r1", "step_number": 1})
    with pytest.raises(Conflict):
        await create_step(runtime)(
            scopes=scope, data={"id": "s2", "run_id": "r1", "step_number": 1}
        )
    # The same number in another run is another step.
    await create_step(runtime)(scopes=scope, data={"id": "s3", "run_id": "r2", "step_number": 1})
    with pytest.raises(ValidationFailed) as info:
        await create_step(runtime)(
            scopes=scope, data={"id": "s4", "run_id": "r1", "step_number": 0}
        )
    assert [e["field"] for e in info.value.errors] == ["step_number"]
    with pytest.raises(InvalidReference):
        await create_step(runtime)(
            scopes=scope, data={"id": "s5", "run_id": "nope", "step_number": 1}
        )


async def test_llm_bodies_are_kept_only_where_the_project_says_so(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await project(databases, ids.tenant, ids.project)
    runtime = databases.runtime
    await start(databases, scope, "r")
    call = {
        "run_id": "r",
        "provider": "anthropic",
        "model": "claude",
        "request_body": {"messages": [{"role": "user", "content": "hi"}]},
        "response_body": {"content": "hello"},
    }
    plain = await record_llm_call(runtime)(scopes=scope, data={**call, "id": "c1"})
    assert (plain.request_body, plain.response_body) == (None, None)
    await update_project_metadata(runtime)(scopes=scope, data={"store_llm_bodies": True})
    kept = await record_llm_call(runtime)(scopes=scope, data={**call, "id": "c2"})
    assert kept.request_body == call["request_body"]
    assert kept.response_body == call["response_body"]
    assert await get_llm_call(runtime)(scopes=scope, llm_call_id="c2") == kept


async def test_llm_calls_refuse_bad_amounts_and_foreign_runs(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await project(databases, ids.tenant, ids.project)
    foreign = await project(databases, ids.other_tenant, ids.project)
    runtime = databases.runtime
    await start(databases, scope, "r")
    await start(databases, scope, "r2")
    await start(databases, foreign, "theirs")
    await create_step(runtime)(scopes=scope, data={"id": "s-r2", "run_id": "r2", "step_number": 1})
    base = {"id": "c", "run_id": "r", "provider": "p", "model": "m"}
    for field, value in (
        ("cost", "-0.1"),
        ("cost", "0.0000000001"),  # ten decimal places: not exact at the stored scale
        ("credits", "1e12"),
        ("input_tokens", -1),
    ):
        with pytest.raises(ValidationFailed) as info:
            await record_llm_call(runtime)(scopes=scope, data={**base, field: value})
        assert [e["field"] for e in info.value.errors] == [field]
    with pytest.raises(InvalidReference):
        await record_llm_call(runtime)(scopes=scope, data={**base, "run_id": "theirs"})
    with pytest.raises(InvalidReference):
        # A step of another run of the project.
        await record_llm_call(runtime)(scopes=scope, data={**base, "step_id": "s-r2"})
    assert await get_llm_call(runtime)(scopes=scope, llm_call_id="c") is None


async def test_a_finished_run_takes_no_more_llm_calls(databases: TestDatabases, ids: Ids) -> None:
    scope = await project(databases, ids.tenant, ids.project)
    runtime = databases.runtime
    await start(databases, scope, "r")
    call = {"run_id": "r", "provider": "p", "model": "m", "cost": "0.25"}
    await record_llm_call(runtime)(scopes=scope, data={**call, "id": "c1"})
    finished = await finish_run(runtime)(scopes=scope, run_id="r")
    with pytest.raises(RunFinished):
        await record_llm_call(runtime)(scopes=scope, data={**call, "id": "c2"})
    assert await get_llm_call(runtime)(scopes=scope, llm_call_id="c2") is None
    # The run's amounts stay the sums of its calls.
    assert finished.cost == Decimal("0.25")
    assert (await get_run(runtime)(scopes=scope, run_id="r")) == finished


async def test_tool_call_payloads_are_capped_and_nest(databases: TestDatabases, ids: Ids) -> None:
    scope = await project(databases, ids.tenant, ids.project)
    runtime = databases.runtime
    await start(databases, scope, "r")
    big = {"text": "x" * (TOOL_PAYLOAD_MAX_BYTES * 2)}
    outer = await record_tool_call(runtime)(
        scopes=scope,
        data={
            "id": "t1",
            "run_id": "r",
            "kind": "delegate",
            "name": "ask",
            "input": {"q": 1},
            "output": big,
        },
    )
    assert outer.input == {"q": 1}
    assert isinstance(outer.output, dict)
    assert outer.output["truncated"] is True
    assert outer.output["bytes"] > TOOL_PAYLOAD_MAX_BYTES
    assert len(outer.output["preview"]) < TOOL_PAYLOAD_MAX_BYTES
    inner = await record_tool_call(runtime)(
        scopes=scope,
        data={"id": "t2", "run_id": "r", "kind": "mcp", "name": "search", "parent_call_id": "t1"},
    )
    assert inner.parent_call_id == "t1"
    with pytest.raises(InvalidReference):
        await record_tool_call(runtime)(
            scopes=scope,
            data={"id": "t3", "run_id": "r", "kind": "mcp", "name": "x", "parent_call_id": "nope"},
        )
    with pytest.raises(ValidationFailed) as info:
        await record_tool_call(runtime)(
            scopes=scope, data={"id": "t4", "run_id": "r", "kind": "shell", "name": "x"}
        )
    assert [e["field"] for e in info.value.errors] == ["kind"]


async def test_cascade_delete_by_project_removes_run_records(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await project(databases, ids.tenant, ids.project)
    neighbour = await project(databases, ids.tenant, f"{ids.project}-n")
    runtime = databases.runtime
    for where in (scope, neighbour):
        await start(databases, where, "root")
        await start(databases, where, "child", "root")
        await record_llm_call(runtime)(
            scopes=where, data={"id": "c", "run_id": "child", "provider": "p", "model": "m"}
        )
    counts = await cascade_delete_by_project(runtime)(scopes=scope)
    assert counts["agent_runs"] >= 1
    assert await get_run(runtime)(scopes=scope, run_id="child") is None
    assert await get_llm_call(runtime)(scopes=scope, llm_call_id="c") is None
    assert await get_run(runtime)(scopes=neighbour, run_id="child") is not None
    assert await get_llm_call(runtime)(scopes=neighbour, llm_call_id="c") is not None
