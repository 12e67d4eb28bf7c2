"""Retention removes exactly the expired rows of the projects whose settings say so, in
batches, and reports them; nothing of another project or tenant goes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from agentfold_core.data_access.doors import writing
from agentfold_core.data_access.runtime.calls import LLM_CALLS, TOOL_CALLS
from agentfold_core.data_access.runtime.conversations import (
    CONVERSATIONS,
    EVENTS,
    FEEDBACK,
    MESSAGES,
)
from agentfold_core.data_access.runtime.project_metadata import update_project_metadata
from agentfold_core.data_access.runtime.retention import enforce_retention
from agentfold_core.data_access.runtime.runs import RUNS, STEPS
from agentfold_core.db.types import utcnow
from agentfold_core.errors import ValidationFailed
from agentfold_core.scopes import ProjectScope
from tests.conftest import Ids
from tests.integration.test_runs import project
from tests.support.databases import TestDatabases
from tests.support.entities import AnyEntity
from tests.support.graph import keys

NOW = utcnow()
TABLES = ("agent_runs", "agent_steps", "llm_calls", "tool_calls", "messages", "feedback", "events")
ENTITIES: dict[str, AnyEntity] = {
    e.traits.name: e for e in (RUNS, STEPS, LLM_CALLS, TOOL_CALLS, MESSAGES, FEEDBACK, EVENTS)
}


async def put(
    databases: TestDatabases,
    scope: ProjectScope,
    entity: AnyEntity,
    created: datetime,
    data: dict[str, Any],
    **derived: Any,
) -> None:
    """A row created at ``created`` (``derived``: columns callers cannot give)."""
    async with writing(databases.runtime, scope) as access:
        values = entity.insert_values(access.target, data)
        values.update(created_at=created, updated_at=created, **derived)
        await entity.insert_row(access, values)


async def run_tree(
    databases: TestDatabases, scope: ProjectScope, root: str, created: datetime
) -> None:
    """A root run, a child and a grandchild (created later), each with a step, an LLM
    call and two nested tool calls."""
    chain: list[str] = []
    for depth, run_id in enumerate((root, f"{root}-child", f"{root}-grandchild")):
        await put(
            databases,
            scope,
            RUNS,
            created + timedelta(days=depth * 10),
            {"id": run_id, "agent_id": "a", "parent_run_id": chain[-1] if chain else None},
            ancestors=list(chain),
            root_run_id=root,
            depth=depth,
        )
        at = created + timedelta(days=depth * 10, minutes=1)
        await put(
            databases, scope, STEPS, at, {"id": f"{run_id}-s", "run_id": run_id, "step_number": 1}
        )
        await put(
            databases,
            scope,
            LLM_CALLS,
            at,
            {
                "id": f"{run_id}-l",
                "run_id": run_id,
                "step_id": f"{run_id}-s",
                "provider": "p",
                "model": "m",
            },
        )
        await put(
            databases,
            scope,
            TOOL_CALLS,
            at,
            {"id": f"{run_id}-t", "run_id": run_id, "kind": "mcp", "name": "outer"},
        )
        await put(
            databases,
            scope,
            TOOL_CALLS,
            at,
            {
                "id": f"{run_id}-tn",
                "run_id": run_id,
                "kind": "function",
                "name": "inner",
                "parent_call_id": f"{run_id}-t",
            },
        )
        chain.append(run_id)


async def fill(databases: TestDatabases, scope: ProjectScope) -> None:
    """Two expired run trees (one with a grandchild inside the window), a recent tree,
    an old and a new message (the old one with feedback), an old and a new event."""
    await run_tree(databases, scope, "old-1", NOW - timedelta(days=45))
    await run_tree(databases, scope, "old-2", NOW - timedelta(days=40))
    await run_tree(databases, scope, "recent", NOW - timedelta(days=2))
    await put(
        databases, scope, CONVERSATIONS, NOW - timedelta(days=50), {"id": "conv", "agent_id": "a"}
    )
    for name, days in (("old", 20), ("new", 1)):
        created = NOW - timedelta(days=days)
        await put(
            databases,
            scope,
            MESSAGES,
            created,
            {
                "id": f"m-{name}",
                "conversation_id": "conv",
                "role": "user",
                "content": {"text": name},
            },
        )
        await put(
            databases,
            scope,
            EVENTS,
            created,
            {"id": f"e-{name}", "conversation_id": "conv", "type": "x"},
        )
    await put(
        databases,
        scope,
        FEEDBACK,
        NOW - timedelta(days=1),
        {"id": "f-old", "conversation_id": "conv", "message_id": "m-old", "kind": "positive"},
    )


async def rows(databases: TestDatabases, scope: ProjectScope) -> dict[str, set[str]]:
    """Ids of the project's rows of every table retention touches."""
    found = {}
    for table in TABLES:
        found[table] = {
            key[-1]
            for _, key in await keys(
                databases, ENTITIES[table], tenant_id=scope.tenant_id, project_id=scope.project_id
            )
        }
    return found


async def test_retention_removes_exactly_the_expired_rows(
    databases: TestDatabases, ids: Ids
) -> None:
    kept = await project(databases, ids.tenant, ids.project)
    neighbour = await project(databases, ids.tenant, f"{ids.project}-n")
    stranger = await project(databases, ids.other_tenant, ids.project)
    for scope in (kept, neighbour, stranger):
        await fill(databases, scope)
    await update_project_metadata(databases.runtime)(
        scopes=kept,
        data={"retention_run_days": 30, "retention_message_days": 10, "retention_event_days": 10},
    )
    # The neighbour keeps its runs only for 30 days too, but the stranger has no settings.
    await update_project_metadata(databases.runtime)(
        scopes=neighbour, data={"retention_run_days": 30}
    )
    before = {scope: await rows(databases, scope) for scope in (kept, neighbour, stranger)}

    report = await enforce_retention(databases.runtime, now=NOW, batch_size=1)

    old_runs = {
        f"{root}{suffix}" for root in ("old-1", "old-2") for suffix in ("", "-child", "-grandchild")
    }
    expected = {
        "agent_runs": old_runs,
        "agent_steps": {f"{r}-s" for r in old_runs},
        "llm_calls": {f"{r}-l" for r in old_runs},
        "tool_calls": {f"{r}-{t}" for r in old_runs for t in ("t", "tn")},
        "messages": {"m-old"},
        "feedback": {"f-old"},
        "events": {"e-old"},
    }
    after = await rows(databases, kept)
    for table in TABLES:
        assert before[kept][table] - after[table] == expected[table], table
        assert after[table] <= before[kept][table]
    runs_only = {t: expected[t] for t in ("agent_runs", "agent_steps", "llm_calls", "tool_calls")}
    after_neighbour = await rows(databases, neighbour)
    for table in TABLES:
        assert before[neighbour][table] - after_neighbour[table] == runs_only.get(table, set())
    assert await rows(databases, stranger) == before[stranger]

    removed = {(p.tenant_id, p.project_id): p.removed for p in report.projects}
    assert removed[(ids.tenant, ids.project)] == {t: len(v) for t, v in expected.items()}
    assert removed[(ids.tenant, neighbour.project_id)] == {t: len(v) for t, v in runs_only.items()}
    assert (ids.other_tenant, ids.project) not in removed

    again = await enforce_retention(databases.runtime, now=NOW, tenant_id=ids.tenant)
    assert again.projects == []


async def test_retention_rejects_a_bad_batch_size(databases: TestDatabases) -> None:
    with pytest.raises(ValidationFailed) as info:
        await enforce_retention(databases.runtime, batch_size=0)
    assert [e["field"] for e in info.value.errors] == ["batch_size"]


async def test_retention_settings_are_validated(databases: TestDatabases, ids: Ids) -> None:
    scope = await project(databases, ids.tenant, ids.project)
    with pytest.raises(ValidationFailed) as info:
        await update_project_metadata(databases.runtime)(
            scopes=scope, data={"retention_run_days": 0}
        )
    assert [e["field"] for e in info.value.errors] == ["retention_run_days"]
