"""The cross-database reference check (``agentfold db check-references``)."""

from __future__ import annotations

import pytest

from agentfold_core.cli import main
from agentfold_core.data_access.manage.agents import (
    create_agent,
    create_sub_agent,
    delete_agent,
)
from agentfold_core.data_access.manage.projects import PROJECTS
from agentfold_core.data_access.manage.triggers import create_trigger
from agentfold_core.data_access.orphans import find_orphans
from agentfold_core.data_access.project_lifecycle import create_project
from agentfold_core.data_access.runtime.api_keys import issue_api_key
from agentfold_core.data_access.runtime.conversations import create_conversation
from agentfold_core.data_access.runtime.project_metadata import PROJECT_METADATA
from agentfold_core.data_access.runtime.tasks import create_task
from agentfold_core.data_access.runtime.trigger_invocations import create_trigger_invocation
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
    await PROJECTS.upsert(databases.manage)(scopes=stray, data={"name": "Stray"})
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


async def test_every_kind_of_runtime_orphan_is_named_on_its_branch(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await _healthy(databases, ids)
    manage, runtime = databases.manage, databases.runtime
    agent = AgentScope(ids.tenant, ids.project, "triage")
    await create_trigger(manage)(scopes=agent, data={"id": "webhook", "name": "W"})
    await create_trigger_invocation(runtime)(
        scopes=agent, data={"id": "i1", "trigger_id": "webhook", "ref": {"branch": "main"}}
    )
    # Each of these names something the manage database does not have.
    await create_trigger_invocation(runtime)(scopes=agent, data={"id": "i2", "trigger_id": "gone"})
    await create_conversation(runtime)(
        scopes=scope, data={"id": "c3", "agent_id": "triage", "ref": {"branch": "feature"}}
    )
    await create_task(runtime)(
        scopes=scope, data={"id": "t2", "agent_id": "triage", "sub_agent_id": "nobody"}
    )
    await create_task(runtime)(
        scopes=scope,
        data={"id": "t3", "agent_id": "triage", "sub_agent_id": "router", "ref": {"branch": "x"}},
    )
    # A task without an agent names no configuration; it is never an orphan.
    await create_task(runtime)(scopes=scope, data={"id": "t4", "sub_agent_id": "anyone"})
    key = await issue_api_key(runtime)(
        scopes=TenantScope(ids.tenant), data={"project_id": ids.project, "agent_id": "ghost"}
    )
    await issue_api_key(runtime)(scopes=TenantScope(ids.tenant), data={"project_id": ids.project})
    runtime_only = ids.project + "-runtime"
    await PROJECT_METADATA.create(runtime)(scopes=ProjectScope(ids.tenant, runtime_only), data={})

    orphans = await find_orphans(manage, runtime, tenant_id=ids.tenant)
    t, p = ids.tenant, ids.project
    assert [o.describe() for o in orphans] == [
        f"runtime.project_metadata (tenant_id={t}, id={runtime_only}, main_branch_name=main): "
        "no manage configuration",
        f"runtime.conversations (tenant_id={t}, project_id={p}, agent_id=triage, id=c3): "
        "agent 'triage' not on branch 'feature'",
        f"runtime.tasks (tenant_id={t}, project_id={p}, agent_id=triage, id=t2): "
        "sub-agent 'nobody' of agent 'triage' not on branch 'main'",
        f"runtime.tasks (tenant_id={t}, project_id={p}, agent_id=triage, id=t3): "
        "sub-agent 'router' of agent 'triage' not on branch 'x'",
        f"runtime.trigger_invocations (tenant_id={t}, project_id={p}, agent_id=triage, id=i2): "
        "trigger 'gone' not on branch 'main'",
        f"runtime.api_keys (tenant_id={t}, project_id={p}, agent_id=ghost, id={key.row.id}): "
        "bound to agent 'ghost', not on branch 'main'",
    ]
    assert {o.database for o in orphans} == {"runtime"}
