"""The cross-database reference check (``agentfold db check-references``)."""

from __future__ import annotations

import pytest

from agentfold_core.cli import main
from agentfold_core.data_access.manage.agents import (
    create_agent,
    create_sub_agent,
    delete_agent,
)
from agentfold_core.data_access.manage.projects import upsert_project
from agentfold_core.data_access.orphans import find_orphans
from agentfold_core.data_access.project_lifecycle import create_project
from agentfold_core.data_access.runtime.api_keys import issue_api_key
from agentfold_core.data_access.runtime.conversations import create_conversation
from agentfold_core.data_access.runtime.tasks import create_task
from agentfold_core.scopes import AgentScope, ProjectScope, TenantScope
from tests.conftest import Ids
from tests.support.databases import TestDatabases


async def _healthy(databases: TestDatabases, ids: Ids) -> ProjectScope:
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    scope = ProjectScope(ids.tenant, ids.project)
    await create_agent(databases.manage)(scopes=scope, data={"id": "triage", "name": "T"})
    await create_sub_agent(databases.manage)(
        scopes=AgentScope(ids.tenant, ids.project, "triage"), data={"id": "router", "name": "R"}
    )
    runtime = databases.runtime
    await create_conversation(runtime)(
        scopes=scope, data={"id": "c1", "agent_id": "triage", "ref": {"branch": "main"}}
    )
    await create_task(runtime)(
        scopes=scope, data={"id": "t1", "agent_id": "triage", "sub_agent_id": "router"}
    )
    await issue_api_key(runtime)(
        scopes=TenantScope(ids.tenant), data={"project_id": ids.project, "agent_id": "triage"}
    )
    return scope


async def test_a_consistent_tenant_has_no_orphans(databases: TestDatabases, ids: Ids) -> None:
    await _healthy(databases, ids)
    assert await find_orphans(databases.manage, databases.runtime, tenant_id=ids.tenant) == []


async def test_deleting_an_agent_orphans_its_runtime_rows(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await _healthy(databases, ids)
    await create_conversation(databases.runtime)(
        scopes=scope, data={"id": "c2", "agent_id": "ghost"}
    )
    assert await delete_agent(databases.manage)(scopes=scope, agent_id="triage")
    orphans = await find_orphans(databases.manage, databases.runtime, tenant_id=ids.tenant)
    found = sorted((o.table, o.key.get("id"), o.problem) for o in orphans)
    assert [(table, row_id) for table, row_id, _ in found] == [
        ("api_keys", found[0][1]),
        ("conversations", "c1"),
        ("conversations", "c2"),
        ("tasks", "t1"),
    ]
    assert "agent 'ghost' not on branch 'main'" in found[2][2]


async def test_configuration_without_a_project_is_reported(
    databases: TestDatabases, ids: Ids
) -> None:
    stray = ProjectScope(ids.tenant, ids.project + "-stray")
    await upsert_project(databases.manage)(scopes=stray, data={"name": "Stray"})
    orphans = await find_orphans(databases.manage, databases.runtime, tenant_id=ids.tenant)
    assert [(o.database, o.table, o.key["id"]) for o in orphans] == [
        ("manage", "projects", stray.project_id)
    ]


async def test_command_exits_1_and_names_each_orphan(
    databases: TestDatabases,
    ids: Ids,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scope = await _healthy(databases, ids)
    monkeypatch.setenv("AGENTFOLD_MANAGE_DATABASE_URL", databases.manage_url)
    monkeypatch.setenv("AGENTFOLD_RUNTIME_DATABASE_URL", databases.runtime_url)
    argv = ["db", "check-references", "--tenant", ids.tenant]
    # The command runs its own event loop: call it from a worker thread.
    import asyncio

    assert await asyncio.to_thread(main, argv) == 0
    assert "no dangling cross-database references" in capsys.readouterr().out
    await create_conversation(databases.runtime)(
        scopes=scope, data={"id": "c9", "agent_id": "ghost"}
    )
    assert await asyncio.to_thread(main, argv) == 1
    out = capsys.readouterr().out
    assert f"runtime.conversations (tenant_id={ids.tenant}, project_id={ids.project}" in out
    assert "1 dangling cross-database reference(s)" in out
