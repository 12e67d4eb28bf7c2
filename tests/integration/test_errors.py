"""Failure paths: bad references, bad input and duplicates become domain errors
(``InvalidReference``, ``ValidationFailed``, ``Conflict``), never driver exceptions."""

from __future__ import annotations

from typing import Any

import pytest

from agentfold_core.data_access.manage.agents import (
    create_agent,
    create_sub_agent,
    get_agent,
    list_agents,
    update_agent,
)
from agentfold_core.data_access.manage.sub_agent_links import (
    create_sub_agent_tool_relation,
    update_sub_agent_tool_relation,
)
from agentfold_core.data_access.manage.tools import (
    create_function,
    create_function_tool,
    create_tool,
    get_tool,
    update_tool,
    upsert_tool,
)
from agentfold_core.data_access.runtime.conversations import create_message
from agentfold_core.errors import Conflict, InvalidReference, ValidationFailed
from agentfold_core.scopes import AgentScope, SubAgentScope, TenantScope
from tests.conftest import Ids
from tests.support.databases import TestDatabases
from tests.support.entities import AnyEntity, all_entities, entity_for, functions
from tests.support.graph import Context, Graph, sample_for, scope_for
from tests.support.samples import MCP_CONFIG, OTHER_BRANCH, TOOL

# ---------------------------------------------------------------------- references


def entities_with_foreign_keys() -> list[AnyEntity]:
    return [e for e in all_entities() if e.table.foreign_key_constraints]


def test_only_scope_owners_have_no_foreign_key() -> None:
    without = {e.traits.name for e in all_entities() if not e.table.foreign_key_constraints}
    assert without == {"projects", "tenants"}


@pytest.mark.parametrize("entity", entities_with_foreign_keys(), ids=lambda e: e.traits.name)
async def test_row_in_a_scope_that_does_not_exist_is_an_invalid_reference(
    databases: TestDatabases, ids: Ids, entity: AnyEntity
) -> None:
    graph = Graph(databases)
    ctx = Context(ids.tenant, ids.project)  # nothing created: no tenant, project, agent
    sample = sample_for(entity)
    scope = scope_for(entity, ctx)
    with pytest.raises(InvalidReference) as info:
        await graph.add(entity, scope, ctx.fill(sample.create), sample.secret)
    assert info.value.context["resource"] == entity.label
    assert (await functions(entity).list(graph.db(entity))(scopes=scope)).pagination.total == 0


async def test_function_tool_naming_a_missing_function(databases: TestDatabases, ids: Ids) -> None:
    graph = Graph(databases)
    ctx = Context(ids.tenant, ids.project)
    await graph.need("agent", ctx)
    scope = ctx.scope(entity_for("function_tools").traits.level)
    with pytest.raises(InvalidReference):
        await create_function_tool(databases.manage)(
            scopes=scope, data={"id": "ft", "name": "F", "function_id": "missing"}
        )


async def test_reference_resolves_only_inside_the_same_branch(
    databases: TestDatabases, ids: Ids
) -> None:
    graph = Graph(databases)
    main = Context(ids.tenant, ids.project)
    other = main.but(ref=OTHER_BRANCH)
    await graph.need("agent", main)
    await graph.need("agent", other)
    await create_function(databases.manage)(
        scopes=main.project_scope(),
        data={"id": "fn", "input_schema": {}, "execute_code": "pass"},
    )
    data = {"id": "ft", "name": "F", "function_id": "fn"}
    with pytest.raises(InvalidReference):
        await create_function_tool(databases.manage)(
            scopes=AgentScope(ids.tenant, ids.project, other.agent, ref=OTHER_BRANCH), data=data
        )
    created = await create_function_tool(databases.manage)(
        scopes=AgentScope(ids.tenant, ids.project, main.agent), data=data
    )
    assert created.function_id == "fn"


async def test_sub_agent_in_a_missing_agent(databases: TestDatabases, ids: Ids) -> None:
    graph = Graph(databases)
    ctx = Context(ids.tenant, ids.project)
    await graph.need("agent", ctx)
    with pytest.raises(InvalidReference):
        await create_sub_agent(databases.manage)(
            scopes=AgentScope(ids.tenant, ids.project, "ghost"), data={"id": "s", "name": "S"}
        )


async def test_relation_to_a_missing_tool(databases: TestDatabases, ids: Ids) -> None:
    graph = Graph(databases)
    ctx = Context(ids.tenant, ids.project)
    await graph.need("sub_agent", ctx)
    await graph.need("tool", ctx)
    scope = SubAgentScope(ids.tenant, ids.project, ctx.agent, ctx.sub_agent)
    with pytest.raises(InvalidReference):
        await create_sub_agent_tool_relation(databases.manage)(
            scopes=scope, data={"tool_id": "missing"}
        )
    relation = await create_sub_agent_tool_relation(databases.manage)(
        scopes=scope, data={"tool_id": TOOL}
    )
    # The tool a relation names is part of its identity: it cannot be re-pointed.
    with pytest.raises(ValidationFailed) as info:
        await update_sub_agent_tool_relation(databases.manage)(
            scopes=scope, relation_id=relation.id, data={"tool_id": "missing"}
        )
    assert [e["field"] for e in info.value.errors] == ["tool_id"]


async def test_message_in_a_missing_conversation(databases: TestDatabases, ids: Ids) -> None:
    graph = Graph(databases)
    ctx = Context(ids.tenant, ids.project)
    await graph.need("project", ctx)
    with pytest.raises(InvalidReference):
        await create_message(databases.runtime)(
            scopes=ctx.project_scope(),
            data={"conversation_id": "missing", "role": "user", "content": {"text": "hi"}},
        )


async def test_update_and_upsert_to_a_missing_reference_change_nothing(
    databases: TestDatabases, ids: Ids
) -> None:
    graph = Graph(databases)
    ctx = Context(ids.tenant, ids.project)
    tool = await graph.create_sample(entity_for("tools"), ctx)
    scope = ctx.project_scope()
    with pytest.raises(InvalidReference):
        await update_tool(databases.manage)(
            scopes=scope, tool_id=tool.id, data={"credential_reference_id": "missing"}
        )
    with pytest.raises(InvalidReference):
        await upsert_tool(databases.manage)(
            scopes=scope,
            data={
                "id": tool.id,
                "name": "T",
                "config": MCP_CONFIG,
                "credential_reference_id": "missing",
            },
        )
    assert await get_tool(databases.manage)(scopes=scope, tool_id=tool.id) == tool


# ---------------------------------------------------------------------- bad input


async def test_bad_input_lists_each_failing_field_and_writes_nothing(
    databases: TestDatabases, ids: Ids
) -> None:
    graph = Graph(databases)
    ctx = Context(ids.tenant, ids.project)
    await graph.need("project", ctx)
    scope = ctx.project_scope()
    bad = {
        "id": "new",
        "name": "n" * 257,
        "prompt": "p" * 200_001,
        "execution_mode": "turbo",
        "models": {"base": {"model": ""}},
        "bogus": 1,
    }
    with pytest.raises(ValidationFailed) as info:
        await create_agent(databases.manage)(scopes=scope, data=bad)
    errors = info.value.errors
    assert {e["field"] for e in errors} == {
        "id",
        "name",
        "prompt",
        "execution_mode",
        "models.base.model",
        "bogus",
    }
    assert all(e["message"] and e["type"] for e in errors)
    assert info.value.context["resource"] == "agent"
    assert (await list_agents(databases.manage)(scopes=scope)).pagination.total == 0


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"config": {"type": "mcp", "mcp": {}}}, "config.mcp.server"),
        ({"config": {"type": "openapi", "mcp": MCP_CONFIG["mcp"]}}, "config.type"),
        ({"config": {**MCP_CONFIG, "extra": 1}}, "config.extra"),
        ({"config": MCP_CONFIG, "headers": {"x": 1}}, "headers.x"),
        ({"config": "https://mcp.example.com"}, "config"),
    ],
)
async def test_json_content_of_the_wrong_shape_is_rejected(
    databases: TestDatabases, ids: Ids, data: dict[str, Any], field: str
) -> None:
    graph = Graph(databases)
    ctx = Context(ids.tenant, ids.project)
    await graph.need("project", ctx)
    with pytest.raises(ValidationFailed) as info:
        await create_tool(databases.manage)(
            scopes=ctx.project_scope(), data={"id": "t", "name": "T", **data}
        )
    assert field in {e["field"] for e in info.value.errors}


@pytest.mark.parametrize(
    "data",
    [
        {"tenant_id": "other"},
        {"project_id": "other"},
        {"branch": "other"},
        {"id": "renamed"},
        {"created_at": "2020-01-01T00:00:00Z"},
        {"updated_at": "2020-01-01T00:00:00Z"},
        {"name": None},
        {"nickname": "x"},
    ],
)
async def test_update_rejects_keys_timestamps_and_unknown_fields(
    databases: TestDatabases, ids: Ids, data: dict[str, Any]
) -> None:
    graph = Graph(databases)
    ctx = Context(ids.tenant, ids.project)
    agent = await graph.create_sample(entity_for("agents"), ctx)
    scope = ctx.project_scope()
    with pytest.raises(ValidationFailed) as info:
        await update_agent(databases.manage)(scopes=scope, agent_id=agent.id, data=data)
    assert [e["field"] for e in info.value.errors] == list(data)
    assert await get_agent(databases.manage)(scopes=scope, agent_id=agent.id) == agent


@pytest.mark.parametrize("column", ["tenant_id", "project_id", "branch", "created_at"])
async def test_create_cannot_set_scope_columns_or_timestamps(
    databases: TestDatabases, ids: Ids, column: str
) -> None:
    graph = Graph(databases)
    ctx = Context(ids.tenant, ids.project)
    await graph.need("project", ctx)
    with pytest.raises(ValidationFailed) as info:
        await create_agent(databases.manage)(
            scopes=ctx.project_scope(), data={"id": "a", "name": "A", column: "x"}
        )
    assert [e["field"] for e in info.value.errors] == [column]


@pytest.mark.parametrize("bad_id", ["has space", "new", "a/b", "x" * 256, "", "nul\x00byte"])
async def test_malformed_id_keyword_raises_validation_failed(
    databases: TestDatabases, ids: Ids, bad_id: str
) -> None:
    scope = Context(ids.tenant, ids.project).project_scope()
    with pytest.raises(ValidationFailed) as info:
        await get_agent(databases.manage)(scopes=scope, agent_id=bad_id)
    assert [e["field"] for e in info.value.errors] == ["agent_id"]
    with pytest.raises(ValidationFailed):
        await update_agent(databases.manage)(scopes=scope, agent_id=bad_id, data={})


async def test_nul_character_is_refused_alike_on_both_backends(
    databases: TestDatabases, ids: Ids
) -> None:
    # PostgreSQL text cannot hold NUL and SQLite can; refusing it at validation on both
    # keeps data portable (a project exported from SQLite imports into PostgreSQL).
    graph = Graph(databases)
    ctx = Context(ids.tenant, ids.project)
    await graph.need("project", ctx)
    scope = ctx.project_scope()
    with pytest.raises(ValidationFailed) as info:
        await create_agent(databases.manage)(scopes=scope, data={"id": "nul", "name": "a\x00b"})
    assert info.value.errors == [
        {"field": "name", "message": info.value.errors[0]["message"], "type": "nul_character"}
    ]
    with pytest.raises(ValidationFailed) as info:
        await list_agents(databases.manage)(scopes=scope, where={"name": "a\x00b"})
    assert [(e["field"], e["type"]) for e in info.value.errors] == [("name", "nul_character")]
    assert (await list_agents(databases.manage)(scopes=scope)).pagination.total == 0


async def test_scope_of_the_wrong_level_is_a_programming_error(
    databases: TestDatabases, ids: Ids
) -> None:
    with pytest.raises(TypeError):
        await get_agent(databases.manage)(scopes=TenantScope(ids.tenant), agent_id="a")
    with pytest.raises(TypeError):
        await get_agent(databases.manage)(
            scopes=Context(ids.tenant, ids.project).project_scope(), id="a"
        )


# ---------------------------------------------------------------------- duplicates


async def test_api_key_public_id_is_unique_per_tenant(databases: TestDatabases, ids: Ids) -> None:
    graph = Graph(databases)
    api_keys = entity_for("api_keys")
    sample = sample_for(api_keys)
    mine, theirs = Context(ids.tenant, ids.project), Context(ids.other_tenant, ids.project)
    await graph.create_sample(api_keys, mine)
    await graph.need("project", theirs)
    duplicate = {**mine.fill(sample.create), "id": "second-key"}
    with pytest.raises(Conflict):
        await graph.add(api_keys, TenantScope(ids.tenant), duplicate, sample.secret)
    # Another tenant may use the same public id.
    other = await graph.add(api_keys, TenantScope(ids.other_tenant), duplicate, sample.secret)
    assert other.public_id == sample.secret["public_id"]
