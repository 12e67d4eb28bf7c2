"""Whole-project and whole-agent documents: export, import, replace."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from agentfold_core.data_access.documents import (
    full_project_model,
    get_full_agent,
    get_full_project,
    put_full_agent,
    put_full_project,
)
from agentfold_core.data_access.manage.agents import get_agent, list_sub_agents
from agentfold_core.data_access.manage.sub_agent_links import list_sub_agents_using_tool
from agentfold_core.data_access.manage.tools import get_tool, list_tools
from agentfold_core.data_access.project_lifecycle import project_exists
from agentfold_core.errors import ValidationFailed
from agentfold_core.scopes import AgentScope, ProjectScope
from tests.conftest import Ids
from tests.support.databases import TestDatabases
from tests.support.project_document import realistic_project


def _count(document: dict[str, Any]) -> dict[str, int]:
    agents = document["agents"].values()
    return {
        "agents": len(document["agents"]),
        "sub_agents": sum(len(a["sub_agents"]) for a in agents),
        "relations": sum(len(a["sub_agent_relations"]) for a in agents),
    }


async def test_round_trip_and_reimport(databases: TestDatabases, ids: Ids) -> None:
    scope = ProjectScope(ids.tenant, ids.project)
    source = realistic_project(ids.project)
    put = put_full_project(databases.manage, databases.runtime)
    result = await put(scopes=scope, document=source)
    exported = await get_full_project(databases.manage)(scopes=scope)
    assert exported is not None

    assert await project_exists(databases.runtime)(scopes=scope)
    assert _count(exported) == {"agents": 3, "sub_agents": 8, "relations": 6}
    assert (result.created["agents"], result.created["sub_agents"]) == (3, 8)
    assert result.updated == {"projects": 1}  # the row made with the project, then filled
    assert result.deleted == {}
    # Everything given comes back (the export adds defaults for omitted fields).
    router = exported["agents"]["triage"]["sub_agents"]["router"]
    assert router["tools"][0]["tool_policies"] == {"create_ticket": {"needs_approval": True}}
    assert exported["skills"]["tone-guide"]["files"][1]["path"] in {
        "examples/greeting.md",
        "examples/closing.md",
    }

    other = ProjectScope(ids.tenant, ids.project + "-copy")
    again = copy.deepcopy(exported)
    again["id"] = other.project_id
    await put(scopes=other, document=again)
    reexported = await get_full_project(databases.manage)(scopes=other)
    assert reexported is not None
    assert {**reexported, "id": ids.project} == exported
    # Putting what is stored writes nothing.
    unchanged = await put(scopes=other, document=reexported)
    assert not unchanged.changed


async def test_a_validated_model_imports_like_its_json(databases: TestDatabases, ids: Ids) -> None:
    # A model's generated defaults (ids of keyed objects) are not the caller's input:
    # the document imports exactly like the plain JSON it was validated from.
    scope = ProjectScope(ids.tenant, ids.project)
    model = full_project_model().model_validate(realistic_project(ids.project))
    await put_full_project(databases.manage, databases.runtime)(scopes=scope, document=model)
    other = ProjectScope(ids.tenant, f"{ids.project}-json")
    await put_full_project(databases.manage, databases.runtime)(
        scopes=other, document=realistic_project(other.project_id)
    )
    from_model = await get_full_project(databases.manage)(scopes=scope)
    from_json = await get_full_project(databases.manage)(scopes=other)
    assert from_model is not None
    assert from_json is not None
    assert from_model.pop("id") == ids.project
    from_json.pop("id")
    assert from_model == from_json


async def test_smaller_document_removes_orphans(databases: TestDatabases, ids: Ids) -> None:
    scope = ProjectScope(ids.tenant, ids.project)
    put = put_full_project(databases.manage, databases.runtime)
    await put(scopes=scope, document=realistic_project(ids.project))

    smaller = realistic_project(ids.project)
    del smaller["agents"]["followup"]
    del smaller["agents"]["escalation"]
    del smaller["tools"]["crm"]
    smaller["agents"]["triage"]["sub_agents"]["router"]["tools"] = []
    smaller["agents"]["triage"]["sub_agents"]["tech"]["team_agents"] = []
    result = await put(scopes=scope, document=smaller)
    exported = await get_full_project(databases.manage)(scopes=scope)
    assert exported is not None

    assert set(exported["agents"]) == {"triage"}
    assert set(result.removed_agents) == {"followup", "escalation"}
    assert result.deleted["agents"] == 2
    assert await get_agent(databases.manage)(scopes=scope, agent_id="followup") is None
    followup_subs = await list_sub_agents(databases.manage)(
        scopes=AgentScope(ids.tenant, ids.project, "followup")
    )
    assert followup_subs.pagination.total == 0
    assert await get_tool(databases.manage)(scopes=scope, tool_id="crm") is None
    assert await list_sub_agents_using_tool(databases.manage)(scopes=scope, tool_id="zendesk") == []
    tools = await list_tools(databases.manage)(scopes=scope)
    assert [t.id for t in tools.data] == ["zendesk"]


async def test_unchanged_rows_are_not_rewritten(databases: TestDatabases, ids: Ids) -> None:
    scope = ProjectScope(ids.tenant, ids.project)
    put = put_full_project(databases.manage, databases.runtime)
    document = realistic_project(ids.project)
    await put(scopes=scope, document=document)
    before = await get_agent(databases.manage)(scopes=scope, agent_id="triage")
    document["agents"]["escalation"]["name"] = "Escalations"
    result = await put(scopes=scope, document=document)
    assert (result.created, result.updated, result.deleted) == ({}, {"agents": 1}, {})
    after = await get_agent(databases.manage)(scopes=scope, agent_id="triage")
    escalation = await get_agent(databases.manage)(scopes=scope, agent_id="escalation")
    assert before is not None
    assert after is not None
    assert escalation is not None
    assert after.updated_at == before.updated_at
    assert escalation.name == "Escalations"
    assert escalation.updated_at > before.updated_at


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (
            lambda d: d["agents"]["triage"].update(default_sub_agent_id="ghost"),
            "agents.triage.default_sub_agent_id",
        ),
        (
            lambda d: d["agents"]["triage"]["sub_agents"]["router"]["tools"][0].update(
                tool_id="ghost"
            ),
            "agents.triage.sub_agents.router.tools[0].tool_id",
        ),
        (
            lambda d: d["agents"]["triage"]["sub_agent_relations"][0].update(
                target_sub_agent_id="ghost"
            ),
            "agents.triage.sub_agent_relations[0].target_sub_agent_id",
        ),
        (
            lambda d: d["tools"]["zendesk"].update(credential_reference_id="ghost"),
            "tools.zendesk.credential_reference_id",
        ),
    ],
)
async def test_dangling_reference_is_rejected_and_changes_nothing(
    databases: TestDatabases, ids: Ids, mutate: Any, field: str
) -> None:
    scope = ProjectScope(ids.tenant, ids.project)
    put = put_full_project(databases.manage, databases.runtime)
    await put(scopes=scope, document=realistic_project(ids.project))
    original = await get_full_project(databases.manage)(scopes=scope)
    broken = realistic_project(ids.project)
    mutate(broken)
    with pytest.raises(ValidationFailed) as caught:
        await put(scopes=scope, document=broken)
    assert [e["field"] for e in caught.value.errors] == [field]
    assert await get_full_project(databases.manage)(scopes=scope) == original


async def test_invalid_document_reports_fields(databases: TestDatabases, ids: Ids) -> None:
    scope = ProjectScope(ids.tenant, ids.project)
    broken = realistic_project(ids.project)
    broken["agents"]["triage"]["sub_agents"]["router"]["prompt"] = "x" * 200_001
    broken["agents"]["triage"]["surprise"] = True
    with pytest.raises(ValidationFailed) as caught:
        await put_full_project(databases.manage, databases.runtime)(scopes=scope, document=broken)
    fields = {e["field"] for e in caught.value.errors}
    assert fields == {"agents.triage.sub_agents.router.prompt", "agents.triage.surprise"}
    assert not await project_exists(databases.runtime)(scopes=scope)


async def test_full_agent_round_trip(databases: TestDatabases, ids: Ids) -> None:
    scope = ProjectScope(ids.tenant, ids.project)
    await put_full_project(databases.manage, databases.runtime)(
        scopes=scope, document=realistic_project(ids.project)
    )
    agent_scope = AgentScope(ids.tenant, ids.project, "escalation")
    agent = await get_full_agent(databases.manage)(scopes=agent_scope)
    assert agent is not None
    assert set(agent["sub_agents"]) == {"lead", "specialist"}

    agent["sub_agents"].pop("specialist")
    agent["sub_agent_relations"] = []
    written = await put_full_agent(databases.manage, databases.runtime)(
        scopes=agent_scope, document=agent
    )
    assert written.deleted["sub_agents"] == 1
    assert written.removed_sub_agents == (("escalation", "specialist"),)
    assert (written.created, written.updated) == ({}, {})
    assert await get_full_agent(databases.manage)(scopes=agent_scope) == agent
    project = await get_full_project(databases.manage)(scopes=scope)
    assert project is not None
    assert project["agents"]["escalation"] == agent
    assert set(project["agents"]["triage"]["sub_agents"]) == {"router", "billing", "tech"}

    new_scope = AgentScope(ids.tenant, ids.project, "brand-new")
    await put_full_agent(databases.manage, databases.runtime)(
        scopes=new_scope,
        document={
            "name": "New",
            "default_sub_agent_id": "only",
            "sub_agents": {"only": {"name": "Only", "tools": [{"tool_id": "crm"}]}},
        },
    )
    created = await get_full_agent(databases.manage)(scopes=new_scope)
    assert created is not None
    assert created["sub_agents"]["only"]["tools"][0]["tool_id"] == "crm"


async def test_full_agent_rejects_bad_default(databases: TestDatabases, ids: Ids) -> None:
    scope = ProjectScope(ids.tenant, ids.project)
    await put_full_project(databases.manage, databases.runtime)(
        scopes=scope, document=realistic_project(ids.project)
    )
    with pytest.raises(ValidationFailed):
        await put_full_agent(databases.manage, databases.runtime)(
            scopes=AgentScope(ids.tenant, ids.project, "x"),
            document={"name": "X", "default_sub_agent_id": "nobody"},
        )
    assert await get_agent(databases.manage)(scopes=scope, agent_id="x") is None


async def test_failed_import_of_a_new_project_leaves_nothing(
    databases: TestDatabases, ids: Ids, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agentfold_core.data_access.documents.write as write

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("connection lost mid-import")

    monkeypatch.setattr(write, "_write_difference", broken)
    scope = ProjectScope(ids.tenant, ids.project)
    with pytest.raises(RuntimeError, match="mid-import"):
        await put_full_project(databases.manage, databases.runtime)(
            scopes=scope, document=realistic_project(ids.project)
        )
    assert not await project_exists(databases.runtime)(scopes=scope)
    assert await get_full_project(databases.manage)(scopes=scope) is None
