"""Foreign-key cascades and SET NULL inside each database, on both backends.

Each test fills every table with a sample row (``Graph.populate``), takes the primary
keys of every row of the test's tenants, deletes one parent, and asserts that exactly
the expected rows went: nothing more, nothing less.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import ForeignKeyConstraint

from agentfold_core.data_access.manage.agents import (
    create_sub_agent,
    create_sub_agent_relation,
    delete_agent,
    delete_sub_agent,
)
from agentfold_core.data_access.manage.credentials import delete_credential_reference
from agentfold_core.data_access.manage.projects import PROJECTS
from agentfold_core.data_access.project_lifecycle import delete_project
from agentfold_core.data_access.runtime.tenants import delete_tenant
from agentfold_core.db.base import entity_tables, manage_metadata, runtime_metadata
from agentfold_core.db.columns import ScopeLevel
from agentfold_core.scopes import AgentScope, ProjectScope, TenantScope
from tests.conftest import Ids
from tests.support.databases import TestDatabases
from tests.support.entities import all_entities, entity_for, functions, ident, is_manage, scope_key
from tests.support.graph import (
    Context,
    Graph,
    Row,
    keys,
    manage_entities,
    runtime_entities,
    sample_for,
    scope_for,
    snapshot,
)
from tests.support.samples import (
    ARTIFACT_COMPONENT,
    CONVERSATION,
    CREDENTIAL,
    DATA_COMPONENT,
    EXTERNAL_AGENT,
    FUNCTION,
    FUNCTION_TOOL,
    MESSAGE,
    NODES,
    OTHER_AGENT,
    OTHER_BRANCH,
    PEER_AGENT,
    PEER_SUB_AGENT,
    PEER_TASK,
    RUN,
    SKILL,
    STEP,
    TASK,
    TOOL,
    TOOL_CALL,
)


async def expect_removal(
    dbs: TestDatabases,
    tenants: list[str],
    delete: Callable[[], Any],
    gone: list[tuple[str, dict[str, Any]]],
) -> set[Row]:
    """Run ``delete``; assert the rows matching each ``(table, filters)`` of ``gone``
    (each matching at least one row) disappear and every other row stays."""
    before = await snapshot(dbs, tenants)
    expected: set[Row] = set()
    for table, filters in gone:
        matching = await keys(dbs, entity_for(table), **filters)
        assert matching, f"test setup: no {table} row matches {filters}"
        expected |= matching
    assert expected <= before
    await delete()
    after = await snapshot(dbs, tenants)
    assert sorted(before - after) == sorted(expected)
    assert after == before - expected
    return after


def level_tables(level: ScopeLevel, *, manage: bool = True) -> list[str]:
    """Tables of one database whose rows live at ``level`` (own-scope rows excepted)."""
    return [
        e.traits.name
        for e in all_entities()
        if e.traits.level is level and is_manage(e) == manage and not e.traits.self_scoped
    ]


# ---------------------------------------------------------------------- manage


async def test_deleting_a_project_row_cascades_to_its_branch_only(
    databases: TestDatabases, ids: Ids
) -> None:
    graph = Graph(databases)
    main = Context(ids.tenant, ids.project)
    other = main.but(ref=OTHER_BRANCH)
    await graph.populate(main, manage_entities())
    await graph.populate(other, manage_entities())
    gone = [("projects", {"tenant_id": ids.tenant, "id": ids.project, "branch": OTHER_BRANCH})]
    gone += [
        (
            e.traits.name,
            {"tenant_id": ids.tenant, "project_id": ids.project, "branch": OTHER_BRANCH},
        )
        for e in manage_entities()
        if not e.traits.self_scoped
    ]
    scope = ProjectScope(ids.tenant, ids.project, ref=OTHER_BRANCH)

    async def delete() -> None:
        assert await PROJECTS.delete(databases.manage)(scopes=scope) is True

    after = await expect_removal(databases, [ids.tenant], delete, gone)
    # Every manage table still has its main-branch row.
    entities = {t.name for t in entity_tables(manage_metadata)}
    assert {t for t, _ in after if t in entities} == entities


async def test_deleting_an_agent_cascades_to_everything_of_that_agent(
    databases: TestDatabases, ids: Ids
) -> None:
    graph = Graph(databases)
    first = Context(ids.tenant, ids.project)
    second = first.but(agent=OTHER_AGENT)
    await graph.populate(first, manage_entities())
    await graph.populate(second, manage_entities())
    agent_tables = level_tables(ScopeLevel.AGENT) + level_tables(ScopeLevel.SUB_AGENT)
    assert {"sub_agents", "sub_agent_relations", "triggers", "function_tools"} <= set(agent_tables)
    base = {"tenant_id": ids.tenant, "project_id": ids.project, "branch": "main"}
    gone = [("agents", {**base, "id": first.agent})]
    gone += [(table, {**base, "agent_id": first.agent}) for table in agent_tables]

    async def delete() -> None:
        assert await delete_agent(databases.manage)(
            scopes=first.project_scope(), agent_id=first.agent
        )

    after = await expect_removal(databases, [ids.tenant], delete, gone)
    # The other agent keeps a row in every agent and sub-agent table.
    assert set(agent_tables) <= {t for t, _ in after}


async def test_deleting_a_sub_agent_removes_its_relations_and_links(
    databases: TestDatabases, ids: Ids
) -> None:
    graph = Graph(databases)
    ctx = Context(ids.tenant, ids.project)
    await graph.populate(ctx, manage_entities())
    base = {
        "tenant_id": ids.tenant,
        "project_id": ids.project,
        "branch": "main",
        "agent_id": ctx.agent,
    }
    agent_scope = AgentScope(ids.tenant, ids.project, ctx.agent)

    # The relation's target goes: the relation goes with it, the source's links stay.
    async def delete_target() -> None:
        assert await delete_sub_agent(databases.manage)(
            scopes=agent_scope, sub_agent_id=PEER_SUB_AGENT
        )

    await expect_removal(
        databases,
        [ids.tenant],
        delete_target,
        [
            ("sub_agents", {**base, "id": PEER_SUB_AGENT}),
            ("sub_agent_relations", {**base, "target_sub_agent_id": PEER_SUB_AGENT}),
        ],
    )
    # Now the source: every row of the sub-agent goes, its relation's target stays.
    await create_sub_agent(databases.manage)(
        scopes=agent_scope, data={"id": "sub-x", "name": "Another target"}
    )
    await create_sub_agent_relation(databases.manage)(
        scopes=agent_scope,
        data={"source_sub_agent_id": ctx.sub_agent, "target_sub_agent_id": "sub-x"},
    )

    async def delete_source() -> None:
        assert await delete_sub_agent(databases.manage)(
            scopes=agent_scope, sub_agent_id=ctx.sub_agent
        )

    gone = [
        ("sub_agents", {**base, "id": ctx.sub_agent}),
        ("sub_agent_relations", {**base, "source_sub_agent_id": ctx.sub_agent}),
    ]
    gone += [
        (t, {**base, "sub_agent_id": ctx.sub_agent}) for t in level_tables(ScopeLevel.SUB_AGENT)
    ]
    await expect_removal(databases, [ids.tenant], delete_source, gone)


@dataclass(frozen=True)
class Reference:
    """Deleting ``node`` (a row of ``table``) removes the rows listed in ``gone``."""

    node: str
    gone: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


# Every FK naming another row (not the row's own scope owner) with ON DELETE CASCADE.
REFERENCES = [
    Reference("tool", [("sub_agent_tool_relations", {"tool_id": TOOL})]),
    Reference(
        "function",
        [
            ("function_tools", {"function_id": FUNCTION}),
            ("sub_agent_function_tool_relations", {"function_tool_id": FUNCTION_TOOL}),
        ],
    ),
    Reference(
        "function_tool",
        [("sub_agent_function_tool_relations", {"function_tool_id": FUNCTION_TOOL})],
    ),
    Reference(
        "external_agent",
        [("sub_agent_external_agent_relations", {"external_agent_id": EXTERNAL_AGENT})],
    ),
    Reference("peer_agent", [("sub_agent_team_agent_relations", {"target_agent_id": PEER_AGENT})]),
    Reference(
        "data_component", [("sub_agent_data_components", {"data_component_id": DATA_COMPONENT})]
    ),
    Reference(
        "artifact_component",
        [("sub_agent_artifact_components", {"artifact_component_id": ARTIFACT_COMPONENT})],
    ),
    Reference(
        "skill",
        [("skill_files", {"skill_id": SKILL}), ("sub_agent_skills", {"skill_id": SKILL})],
    ),
    Reference(
        "conversation",
        [
            ("messages", {"conversation_id": CONVERSATION}),
            ("events", {"conversation_id": CONVERSATION}),
            ("feedback", {"conversation_id": CONVERSATION}),
            ("context_cache", {"conversation_id": CONVERSATION}),
        ],
    ),
    Reference("message", [("feedback", {"message_id": MESSAGE})]),
    Reference(
        "task",
        [
            ("task_relations", {"parent_task_id": TASK}),
            ("ledger_artifacts", {"task_id": TASK}),
        ],
    ),
    Reference("peer_task", [("task_relations", {"child_task_id": PEER_TASK})]),
    Reference(
        "run",
        [
            ("agent_runs", {"parent_run_id": RUN}),
            ("agent_steps", {"run_id": RUN}),
            ("llm_calls", {"run_id": RUN}),
            ("tool_calls", {"run_id": RUN}),
        ],
    ),
    Reference("step", [("llm_calls", {"step_id": STEP}), ("tool_calls", {"step_id": STEP})]),
    Reference("tool_call", [("tool_calls", {"parent_call_id": TOOL_CALL})]),
]

# Covered by the sub-agent test above; owners of scopes are covered by their own tests.
SUB_AGENT_EDGES = {("sub_agent_relations", "sub_agents")}
SCOPE_OWNERS = {"projects", "tenants", "project_metadata"}


def reference_foreign_keys() -> set[tuple[str, str, str]]:
    """``(table, column, referred table)`` of every FK naming a row other than the
    table's own scope owner."""
    result = set()
    for metadata in (manage_metadata, runtime_metadata):
        for table in entity_tables(metadata):
            entity = entity_for(table.name)
            for fk in table.foreign_key_constraints:
                assert isinstance(fk, ForeignKeyConstraint)
                own = [c for c in fk.column_keys if c not in entity.traits.scope_columns]
                if own and fk.referred_table.name not in SCOPE_OWNERS:
                    result.add((table.name, own[0], fk.referred_table.name))
    return result


def test_every_reference_is_covered() -> None:
    covered = set(SUB_AGENT_EDGES)
    for reference in REFERENCES:
        parent = NODES[reference.node].table
        covered |= {(table, parent) for table, _ in reference.gone}
    cascading = {(t, parent) for t, _, parent in reference_foreign_keys()} - {
        (t, "credential_references") for t in SET_NULL
    }
    assert cascading <= covered, f"add REFERENCES entries for {sorted(cascading - covered)}"


@pytest.mark.parametrize("reference", REFERENCES, ids=lambda r: r.node)
async def test_deleting_a_referenced_row_cascades(
    databases: TestDatabases, ids: Ids, reference: Reference
) -> None:
    graph = Graph(databases)
    ctx = Context(ids.tenant, ids.project)
    node = NODES[reference.node]
    entity = entity_for(node.table)
    entities = manage_entities() if is_manage(entity) else runtime_entities()
    await graph.populate(ctx, entities)
    if is_manage(entity):
        await graph.populate(ctx.but(ref=OTHER_BRANCH), entities)  # same ids, other branch
    scope = scope_for(entity, ctx)
    node_id = ctx.fill(node.payload)["id"]
    prefix = scope_key(entity, scope)
    gone = [(node.table, {**prefix, "id": node_id})]
    project = {"tenant_id": ids.tenant, "project_id": ids.project}
    if is_manage(entity):
        project["branch"] = "main"
    gone += [(table, {**project, **filters}) for table, filters in reference.gone]

    async def delete() -> None:
        delete_row = functions(entity).delete(graph.db(entity))
        deleted = await delete_row(scopes=scope, **ident(entity, node_id))
        assert deleted is True

    await expect_removal(databases, [ids.tenant], delete, gone)


# ---------------------------------------------------------------------- SET NULL

SET_NULL = {
    "tools": "credential_reference_id",
    "external_agents": "credential_reference_id",
    "triggers": "signing_secret_credential_reference_id",
}


def test_set_null_references_are_the_expected_ones() -> None:
    found = {
        (fk.parent.name, fk.column.table.name)
        for metadata in (manage_metadata, runtime_metadata)
        for table in metadata.tables.values()
        for constraint in table.foreign_key_constraints
        if (constraint.ondelete or "").upper().startswith("SET NULL")
        for fk in constraint.elements
        if fk.parent.name not in ("tenant_id", "project_id", "branch")
    }
    assert found == {(column, "credential_references") for column in SET_NULL.values()}
    tables = {
        table.name
        for table in manage_metadata.tables.values()
        for constraint in table.foreign_key_constraints
        if (constraint.ondelete or "").upper().startswith("SET NULL")
    }
    assert tables == set(SET_NULL)


async def test_deleting_a_credential_reference_nulls_references_only(
    databases: TestDatabases, ids: Ids
) -> None:
    graph = Graph(databases)
    main = Context(ids.tenant, ids.project)
    other = main.but(ref=OTHER_BRANCH)
    for ctx in (main, other):
        await graph.populate(ctx, [entity_for(t) for t in SET_NULL])

    async def referencing(ctx: Context) -> dict[str, list[dict[str, Any]]]:
        result = {}
        for table, column in SET_NULL.items():
            entity = entity_for(table)
            page = await functions(entity).list(graph.db(entity))(scopes=scope_for(entity, ctx))
            result[table] = [r.model_dump(exclude={column}) for r in page.data]
            assert {getattr(r, column) for r in page.data} == {CREDENTIAL}
        return result

    before_main, before_other = await referencing(main), await referencing(other)

    async def delete() -> None:
        assert await delete_credential_reference(databases.manage)(
            scopes=main.project_scope(), credential_reference_id=CREDENTIAL
        )

    await expect_removal(
        databases,
        [ids.tenant],
        delete,
        [
            (
                "credential_references",
                {
                    "tenant_id": ids.tenant,
                    "project_id": ids.project,
                    "branch": "main",
                    "id": CREDENTIAL,
                },
            )
        ],
    )
    for table, column in SET_NULL.items():
        entity = entity_for(table)
        list_rows = functions(entity).list(graph.db(entity))
        rows = (await list_rows(scopes=scope_for(entity, main))).data
        # Rows stay, with their scope columns and every other column unchanged.
        assert [r.model_dump(exclude={column}) for r in rows] == before_main[table]
        assert rows
        assert all(getattr(r, column) is None for r in rows)
    # The same credential id on another branch is another row: its users keep it.
    assert await referencing(other) == before_other


# ---------------------------------------------------------------------- runtime


async def test_deleting_a_tenant_removes_all_its_runtime_rows(
    databases: TestDatabases, ids: Ids
) -> None:
    graph = Graph(databases)
    mine = Context(ids.tenant, ids.project)
    theirs = Context(ids.other_tenant, ids.project)
    for ctx in (mine, theirs):
        await graph.populate(ctx, runtime_entities())
    gone = [("tenants", {"id": ids.tenant})]
    gone += [
        (e.traits.name, {"tenant_id": ids.tenant})
        for e in runtime_entities()
        if e.traits.name != "tenants"
    ]

    async def delete() -> None:
        assert await delete_tenant(databases.runtime)(scopes=TenantScope(ids.tenant))

    after = await expect_removal(databases, [ids.tenant, ids.other_tenant], delete, gone)
    # Runtime is all gone for the tenant; the other tenant keeps a row in every table.
    assert {t for t, _ in after if t in runtime_metadata.tables} == set(runtime_metadata.tables)


async def test_delete_project_removes_runtime_and_manage_rows_of_every_branch(
    databases: TestDatabases, ids: Ids
) -> None:
    graph = Graph(databases)
    project = Context(ids.tenant, ids.project)
    neighbour = Context(ids.tenant, f"{ids.project}-b")
    for ctx in (project, project.but(ref=OTHER_BRANCH), neighbour):
        await graph.populate(ctx, manage_entities())
    for ctx in (project, neighbour):
        await graph.populate(ctx, runtime_entities())
    # API keys and credit rows are tenant rows bound to a project: the samples made one
    # for the first project only.
    api_keys = entity_for("api_keys")
    key_sample = sample_for(api_keys)
    await graph.add(
        api_keys,
        TenantScope(ids.tenant),
        {**neighbour.fill(key_sample.create), "id": "neighbour-key"},
        {**key_sample.secret, "public_id": "pub-nb"},
    )
    for table in ("credit_grants", "credit_ledger"):
        entity = entity_for(table)
        payload = neighbour.fill(sample_for(entity).create)
        unique = {"id": f"neighbour-{table}", "operation_id": f"neighbour-{table}"}
        await graph.add(entity, TenantScope(ids.tenant), {**payload, **unique})
    gone = [
        ("projects", {"tenant_id": ids.tenant, "id": ids.project}),
        ("project_metadata", {"tenant_id": ids.tenant, "id": ids.project}),
    ]
    # Audit events name the project without belonging to it: they outlive it (and
    # expect_removal checks that every row not listed here stays).
    gone += [
        (e.traits.name, {"tenant_id": ids.tenant, "project_id": ids.project})
        for e in all_entities()
        if not e.traits.self_scoped and e.traits.name != "audit_events"
    ]

    async def delete() -> None:
        assert await delete_project(databases.manage, databases.runtime)(
            scopes=ProjectScope(ids.tenant, ids.project)
        )

    after = await expect_removal(databases, [ids.tenant], delete, gone)
    assert ("tenants", (ids.tenant,)) in after
    # The neighbouring project keeps a row in every table.
    entities = {t.name for m in (manage_metadata, runtime_metadata) for t in entity_tables(m)}
    assert {t for t, _ in after} == entities
