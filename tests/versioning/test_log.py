"""The log (first-parent or full, filtered to one row's history, paginated), branches
with ahead/behind counts, and ``resolve_ref`` as runtime rows record it."""

from __future__ import annotations

import pytest

from agentfold_core.content import ResolvedRef
from agentfold_core.data_access.manage.agents import create_agent, update_agent
from agentfold_core.data_access.project_lifecycle import create_project
from agentfold_core.errors import NotFound
from agentfold_core.scopes import ProjectScope, TenantScope
from agentfold_core.versioning.branches import create_branch, create_tag, list_branches
from agentfold_core.versioning.merge import merge
from agentfold_core.versioning.operations import log, resolve_ref, status
from tests.conftest import Ids
from tests.support.databases import TestDatabases


async def _setup(databases: TestDatabases, ids: Ids) -> tuple[ProjectScope, ProjectScope]:
    """main: root, create a, update b on main; feature: update a, create b."""
    manage = databases.manage
    await create_project(manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    main = ProjectScope(ids.tenant, ids.project)
    await create_agent(manage)(scopes=main, data={"id": "a", "name": "A"})
    await create_agent(manage)(scopes=main, data={"id": "c", "name": "C"})
    await create_branch(manage)(scopes=main, name="feature")
    feature = main.at("feature")
    await update_agent(manage)(scopes=feature, agent_id="a", data={"name": "A2"})
    await create_agent(manage)(scopes=feature, data={"id": "b", "name": "B"})
    await update_agent(manage)(scopes=main, agent_id="c", data={"name": "C2"})
    return main, feature


async def test_log_first_parent_full_and_filtered(databases: TestDatabases, ids: Ids) -> None:
    main, feature = await _setup(databases, ids)
    manage = databases.manage
    feature_log = (await log(manage)(scopes=feature)).data
    result = await merge(manage)(scopes=main, from_ref="feature")
    assert result.committed

    first = (await log(manage)(scopes=main)).data
    assert [c.message for c in first] == [
        "Merge feature into main",
        "Update agent c",
        "Create agent c",
        "Create agent a",
        first[-1].message,
    ]
    assert first[-1].parent_id is None
    full = (await log(manage)(scopes=main, first_parent=False)).data
    assert len(full) == len(first) + 2
    assert {c.id for c in full} == {c.id for c in first} | {c.id for c in feature_log}
    assert full[0].id == result.commit_id
    assert full[-1].id == first[-1].id
    # Newest first: no commit is listed before one of its descendants.
    position = {c.id: n for n, c in enumerate(full)}
    for commit in full:
        for parent in (commit.parent_id, commit.merge_parent_id):
            if parent is not None:
                assert position[parent] > position[commit.id]

    # Paginated as before.
    second = await log(manage)(scopes=main, first_parent=False, page=2, limit=4)
    assert second.pagination.total == len(full)
    assert second.data == full[4:8]

    # One row's history: a was created on main, updated on feature; the merge brought
    # the update to main (a change against the merge's first parent).
    history_a = (await log(manage)(scopes=main, table="agents", row_key="a")).data
    assert [c.message for c in history_a] == ["Merge feature into main", "Create agent a"]
    full_a = (await log(manage)(scopes=main, table="agents", row_key="a", first_parent=False)).data
    assert [c.message for c in full_a] == [
        "Merge feature into main",
        "Update agent a",
        "Create agent a",
    ]
    on_feature = (await log(manage)(scopes=feature, table="agents", row_key="b")).data
    assert [c.message for c in on_feature] == ["Create agent b"]
    assert (await log(manage)(scopes=main, table="agents", row_key="nobody")).data == []
    tables_only = (await log(manage)(scopes=main, table="agents")).data
    assert len(tables_only) == len(first) - 1  # the root commit changed no agent


async def test_branches_ahead_and_behind_main(databases: TestDatabases, ids: Ids) -> None:
    main, feature = await _setup(databases, ids)
    manage = databases.manage
    found = {b.name: b for b in await list_branches(manage)(scopes=main)}
    assert (found["main"].ahead, found["main"].behind) == (0, 0)
    assert (found["feature"].ahead, found["feature"].behind) == (2, 1)
    assert found["feature"].head == (await status(manage)(scopes=feature)).head
    await merge(manage)(scopes=main, from_ref="feature")
    found = {b.name: b for b in await list_branches(manage)(scopes=main)}
    # main now has its own update and the merge commit that feature lacks.
    assert (found["feature"].ahead, found["feature"].behind) == (0, 2)
    await merge(manage)(scopes=feature, from_ref="main")  # a fast-forward
    found = {b.name: b for b in await list_branches(manage)(scopes=main)}
    assert (found["feature"].ahead, found["feature"].behind) == (0, 0)
    assert found["feature"].head == found["main"].head


async def test_resolve_ref(databases: TestDatabases, ids: Ids) -> None:
    main, feature = await _setup(databases, ids)
    manage = databases.manage
    head = (await status(manage)(scopes=main)).head
    history = (await log(manage)(scopes=main)).data
    assert await resolve_ref(manage)(scopes=main) == ResolvedRef(branch="main", commit=head)
    feature_head = (await status(manage)(scopes=feature)).head
    assert await resolve_ref(manage)(scopes=feature) == ResolvedRef(
        branch="feature", commit=feature_head
    )
    await create_tag(manage)(scopes=main.at("main~1"), name="v1")
    assert await resolve_ref(manage)(scopes=main.at("v1")) == ResolvedRef(
        branch="v1", commit=history[1].id
    )
    assert await resolve_ref(manage)(scopes=main.at("main~2")) == ResolvedRef(
        branch="main~2", commit=history[2].id
    )
    prefix = history[1].id[:9]
    assert await resolve_ref(manage)(scopes=main.at(prefix)) == ResolvedRef(
        branch=prefix, commit=history[1].id
    )
    with pytest.raises(NotFound, match="nowhere"):
        await resolve_ref(manage)(scopes=main.at("nowhere"))
