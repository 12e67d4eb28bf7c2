"""Scoping isolation: the same ids under two tenants, projects, branches, agents or
sub-agents never see or change each other's rows, for every entity."""

from __future__ import annotations

import pytest
from _pytest.mark import ParameterSet

from agentfold_core.data_access.manage.projects import PROJECTS
from agentfold_core.data_access.project_lifecycle import create_project
from agentfold_core.db.columns import ScopeLevel
from agentfold_core.errors import ReadOnlyRef
from agentfold_core.scopes import ProjectScope, TenantScope
from agentfold_core.versioning.branches import create_branch
from tests.conftest import Ids
from tests.support.databases import TestDatabases
from tests.support.entities import AnyEntity, all_entities, functions, ident, scope_key
from tests.support.graph import Context, Graph, dump, sample_for, scope_for, shown
from tests.support.samples import OTHER_AGENT, OTHER_BRANCH, OTHER_SUB_AGENT


def dimensions(entity: AnyEntity) -> list[str]:
    """The scope dimensions that apply to the entity's table."""
    level = entity.traits.level
    result = ["tenant"]
    # A project's own row is addressed by the project id itself: two projects are
    # two different ids, not the same id in two scopes.
    if level is not ScopeLevel.TENANT and not entity.traits.self_scoped:
        result.append("project")
    # A project's row on another branch exists only once the branch is created from a
    # ref (test_a_project_row_on_a_branch_is_its_own, below); other rows are made there.
    if entity.traits.versioned and not entity.traits.self_scoped:
        result.append("branch")
    if level in (ScopeLevel.AGENT, ScopeLevel.SUB_AGENT):
        result.append("agent")
    if level is ScopeLevel.SUB_AGENT:
        result.append("sub_agent")
    return result


def isolation_params() -> list[ParameterSet]:
    return [
        pytest.param(entity, dimension, id=f"{entity.traits.name}-{dimension}")
        for entity in all_entities()
        for dimension in dimensions(entity)
    ]


def other_context(ctx: Context, ids: Ids, dimension: str) -> Context:
    """``ctx`` moved to another tenant, project, branch, agent or sub-agent."""
    changes = {
        "tenant": {"tenant": ids.other_tenant},
        "project": {"project": f"{ids.project}-b"},
        "branch": {"ref": OTHER_BRANCH},
        "agent": {"agent": OTHER_AGENT},
        "sub_agent": {"sub_agent": OTHER_SUB_AGENT},
    }[dimension]
    return ctx.but(**changes)


def test_every_manage_entity_is_checked_across_branches() -> None:
    params = {(p.values[0], p.values[1]) for p in isolation_params()}
    for entity in all_entities():
        if entity.traits.versioned and not entity.traits.self_scoped:
            assert (entity, "branch") in params
        if entity.traits.level is ScopeLevel.SUB_AGENT:
            assert {(entity, "agent"), (entity, "sub_agent")} <= params


@pytest.mark.parametrize(("entity", "dimension"), isolation_params())
async def test_same_ids_in_two_scopes_are_isolated(
    databases: TestDatabases, ids: Ids, entity: AnyEntity, dimension: str
) -> None:
    graph = Graph(databases)
    db = graph.db(entity)
    sample = sample_for(entity)
    ctx_a = Context(ids.tenant, ids.project)
    ctx_b = other_context(ctx_a, ids, dimension)
    a = await graph.create_sample(entity, ctx_a)
    b = await graph.create_sample(entity, ctx_b)
    scope_a, scope_b = scope_for(entity, ctx_a), scope_for(entity, ctx_b)
    assert scope_a != scope_b
    for row, scope in ((a, scope_a), (b, scope_b)):
        values = scope_key(entity, scope)
        assert {k: dump(row)[k] for k in values} == values
    key_a, key_b = ident(entity, a.id), ident(entity, b.id)
    fns = functions(entity)
    get, list_rows, update, delete = fns.get(db), fns.list(db), fns.update(db), fns.delete(db)

    a_shown, b_shown = shown(entity, a), shown(entity, b)
    assert shown(entity, await get(scopes=scope_a, **key_a)) == a_shown
    assert shown(entity, await get(scopes=scope_b, **key_b)) == b_shown
    assert [shown(entity, r) for r in (await list_rows(scopes=scope_a)).data] == [a_shown]
    assert [shown(entity, r) for r in (await list_rows(scopes=scope_b)).data] == [b_shown]
    if key_a != key_b:
        # Derived relation ids include the scope ids: B's id means nothing in A.
        assert await get(scopes=scope_a, **key_b) is None
        assert await update(scopes=scope_a, data={}, **key_b) is None
        assert await delete(scopes=scope_a, **key_b) is False

    updated = await update(scopes=scope_a, data=ctx_a.fill(sample.update), **key_a)
    assert updated is not None
    assert updated.updated_at > a.updated_at
    assert shown(entity, await get(scopes=scope_b, **key_b)) == b_shown

    assert await delete(scopes=scope_a, **key_a) is True
    assert await get(scopes=scope_a, **key_a) is None
    assert shown(entity, await get(scopes=scope_b, **key_b)) == b_shown
    assert [shown(entity, r) for r in (await list_rows(scopes=scope_b)).data] == [b_shown]
    assert (await list_rows(scopes=scope_a)).data == []
    assert await delete(scopes=scope_a, **key_a) is False
    assert shown(entity, await get(scopes=scope_b, **key_b)) == b_shown


async def test_a_project_row_on_a_branch_is_its_own(databases: TestDatabases, ids: Ids) -> None:
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    main = ProjectScope(ids.tenant, ids.project)
    await create_branch(databases.manage)(scopes=main, name=OTHER_BRANCH)
    other = main.at(OTHER_BRANCH)
    renamed = await PROJECTS.update(databases.manage)(scopes=other, data={"name": "Other"})
    assert renamed is not None
    assert renamed.branch == OTHER_BRANCH
    kept = await PROJECTS.get(databases.manage)(scopes=main)
    assert kept is not None
    assert kept.name == "P"
    # A project row cannot appear on a name that is not a branch.
    with pytest.raises(ReadOnlyRef):
        await PROJECTS.upsert(databases.manage)(scopes=main.at("ghost"), data={"name": "G"})
    assert await PROJECTS.get(databases.manage)(scopes=main.at(OTHER_BRANCH)) == renamed
