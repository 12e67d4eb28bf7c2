"""Diff, merge (fast-forward, three-way by row, column and JSON key), conflicts and
their resolutions, merge preview, revert and reset: the prototype's scenarios."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import select

from agentfold_core.data_access.doors import transaction
from agentfold_core.data_access.manage.agents import (
    create_agent,
    create_sub_agent,
    delete_agent,
    delete_sub_agent,
    get_agent,
    get_sub_agent,
    update_agent,
)
from agentfold_core.data_access.project_lifecycle import create_project
from agentfold_core.db.manage.schema import AgentRow
from agentfold_core.errors import Conflict, InvalidRef
from agentfold_core.scopes import AgentScope, ProjectScope, TenantScope
from agentfold_core.versioning.apply import ApplyFailed, apply_manifest
from agentfold_core.versioning.branches import create_branch
from agentfold_core.versioning.commit import Branch
from agentfold_core.versioning.diff import TableCounts, diff, head_manifest
from agentfold_core.versioning.history import manifest_at
from agentfold_core.versioning.merge import (
    MergeConflict,
    changed_since,
    merge,
    merge_base,
    merge_preview,
    merge_rows,
    reset,
    revert,
)
from agentfold_core.versioning.operations import CommitInfo, log, status
from agentfold_core.versioning.rows import versioned_tables
from tests.conftest import Ids
from tests.support.databases import TestDatabases


async def _project(databases: TestDatabases, ids: Ids) -> ProjectScope:
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    return ProjectScope(ids.tenant, ids.project)


async def _agent(databases: TestDatabases, scope: ProjectScope, agent_id: str) -> AgentRow:
    found = await get_agent(databases.manage)(scopes=scope, agent_id=agent_id)
    assert found is not None, agent_id
    return found


async def _create(
    databases: TestDatabases, scope: ProjectScope, agent_id: str, **data: Any
) -> None:
    await create_agent(databases.manage)(scopes=scope, data={"id": agent_id, **data})


async def _update(
    databases: TestDatabases, scope: ProjectScope, agent_id: str, **data: Any
) -> None:
    await update_agent(databases.manage)(scopes=scope, agent_id=agent_id, data=data)


async def _history(databases: TestDatabases, scope: ProjectScope) -> list[CommitInfo]:
    return (await log(databases.manage)(scopes=scope, limit=100)).data


async def _head(databases: TestDatabases, scope: ProjectScope) -> str:
    found = await status(databases.manage)(scopes=scope)
    assert found.clean, found.changes
    return found.head


async def _feature(databases: TestDatabases, scope: ProjectScope) -> ProjectScope:
    await create_branch(databases.manage)(scopes=scope, name="feature")
    return scope.at("feature")


async def test_fast_forward_and_up_to_date(databases: TestDatabases, ids: Ids) -> None:
    main = await _project(databases, ids)
    await _create(databases, main, "a", name="A")
    feature = await _feature(databases, main)
    await _update(databases, feature, "a", name="A2")
    await _create(databases, feature, "b", name="B")
    before = len(await _history(databases, main))
    result = await merge(databases.manage)(scopes=main, from_ref="feature")
    assert result.fast_forward
    assert result.commit_id == await _head(databases, feature) == await _head(databases, main)
    assert (await _agent(databases, main, "a")).name == "A2"
    assert (await _agent(databases, main, "b")).name == "B"
    # No commit was made: main's history is feature's.
    assert len(await _history(databases, main)) == before + 2
    again = await merge(databases.manage)(scopes=main, from_ref="feature")
    assert again.up_to_date
    back = await merge(databases.manage)(scopes=feature, from_ref="main")
    assert back.up_to_date


async def test_column_level_clean_merge_commits_once_with_two_parents(
    databases: TestDatabases, ids: Ids
) -> None:
    main = await _project(databases, ids)
    await _create(databases, main, "a", name="A", prompt="p0", description="d0")
    feature = await _feature(databases, main)
    await _update(databases, main, "a", name="main-name")
    await _update(databases, feature, "a", prompt="feature-prompt")
    ours, theirs = await _head(databases, main), await _head(databases, feature)
    before = len(await _history(databases, main))
    result = await merge(databases.manage)(scopes=main, from_ref="feature", author="carol")
    assert result.committed
    found = await _agent(databases, main, "a")
    assert (found.name, found.prompt, found.description) == ("main-name", "feature-prompt", "d0")
    history = await _history(databases, main)
    assert len(history) == before + 1  # one merge commit (the log follows first parents)
    newest = history[0]
    assert (newest.id, newest.parent_id, newest.merge_parent_id) == (result.commit_id, ours, theirs)
    assert (newest.message, newest.author) == ("Merge feature into main", "carol")
    assert await _head(databases, main) == result.commit_id
    assert (await merge(databases.manage)(scopes=main, from_ref="feature")).up_to_date
    # The other way round is now a fast-forward.
    back = await merge(databases.manage)(scopes=feature, from_ref="main")
    assert back.fast_forward
    assert (await _agent(databases, feature, "a")).name == "main-name"


async def test_same_column_conflict_changes_nothing(databases: TestDatabases, ids: Ids) -> None:
    main = await _project(databases, ids)
    await _create(databases, main, "a", name="A", prompt="p0")
    feature = await _feature(databases, main)
    await _update(databases, main, "a", prompt="ours", name="A-main")
    await _update(databases, feature, "a", prompt="theirs")
    head = await _head(databases, main)
    with pytest.raises(MergeConflict) as caught:
        await merge(databases.manage)(scopes=main, from_ref="feature")
    [conflict] = caught.value.conflicts
    assert (conflict.table, conflict.row_key, conflict.kind) == ("agents", "a", "modify/modify")
    assert conflict.columns == ["prompt"]
    assert conflict.base is not None
    assert conflict.base["prompt"] == "p0"
    assert conflict.ours is not None
    assert conflict.ours["prompt"] == "ours"
    assert conflict.theirs is not None
    assert conflict.theirs["prompt"] == "theirs"
    assert caught.value.context["conflicts"][0]["columns"] == ["prompt"]
    assert await _head(databases, main) == head
    assert (await _agent(databases, main, "a")).prompt == "ours"


async def test_resolutions_ours_theirs_and_custom(databases: TestDatabases, ids: Ids) -> None:
    main = await _project(databases, ids)
    for agent_id in ("x", "y", "z"):
        await _create(databases, main, agent_id, name=agent_id, prompt="p0")
    feature = await _feature(databases, main)
    for agent_id in ("x", "y", "z"):
        await _update(databases, main, agent_id, prompt=f"main-{agent_id}")
        await _update(databases, feature, agent_id, prompt=f"feature-{agent_id}")
    preview = await merge_preview(databases.manage)(scopes=main, from_ref="feature")
    assert [(c.row_key, c.columns) for c in preview.conflicts] == [
        ("x", ["prompt"]),
        ("y", ["prompt"]),
        ("z", ["prompt"]),
    ]
    resolutions: dict[Any, Any] = {
        ("agents", "x"): "ours",
        "agents:y": "theirs",
        ("agents", "z"): {"prompt": "custom", "description": "by hand"},
    }
    result = await merge(databases.manage)(scopes=main, from_ref="feature", resolutions=resolutions)
    assert result.committed
    assert (await _agent(databases, main, "x")).prompt == "main-x"
    assert (await _agent(databases, main, "y")).prompt == "feature-y"
    z = await _agent(databases, main, "z")
    assert (z.prompt, z.description, z.name) == ("custom", "by hand", "z")
    await _head(databases, main)  # clean: the working rows are the merge commit


async def test_json_objects_merge_key_by_key(databases: TestDatabases, ids: Ids) -> None:
    main = await _project(databases, ids)
    models = {"base": {"model": "m0"}, "summarizer": {"model": "s0"}}
    await _create(databases, main, "a", name="A", models=models)
    await _create(databases, main, "b", name="B", models=models)
    feature = await _feature(databases, main)
    # a: different keys of one JSON object on each side: clean.
    await _update(databases, main, "a", models={**models, "base": {"model": "m1"}})
    await _update(databases, feature, "a", models={**models, "summarizer": {"model": "s1"}})
    # b: the same key set to different values: a conflict on that key.
    await _update(databases, main, "b", models={**models, "base": {"model": "m2"}})
    await _update(databases, feature, "b", models={**models, "base": {"model": "m3"}})
    with pytest.raises(MergeConflict) as caught:
        await merge(databases.manage)(scopes=main, from_ref="feature")
    [conflict] = caught.value.conflicts
    assert (conflict.row_key, conflict.columns, conflict.paths) == (
        "b",
        ["models"],
        ["models.base.model"],
    )
    await merge(databases.manage)(
        scopes=main, from_ref="feature", resolutions={("agents", "b"): "theirs"}
    )
    a = (await _agent(databases, main, "a")).model_dump(mode="json")["models"]
    assert (a["base"]["model"], a["summarizer"]["model"]) == ("m1", "s1")
    b = (await _agent(databases, main, "b")).model_dump(mode="json")["models"]
    assert (b["base"]["model"], b["summarizer"]["model"]) == ("m3", "s0")


async def test_delete_and_add_conflicts(databases: TestDatabases, ids: Ids) -> None:
    main = await _project(databases, ids)
    await _create(databases, main, "a", name="A")
    await _create(databases, main, "b", name="B")
    feature = await _feature(databases, main)
    await _update(databases, main, "a", name="A-main")
    await delete_agent(databases.manage)(scopes=feature, agent_id="a")
    await delete_agent(databases.manage)(scopes=main, agent_id="b")
    await _update(databases, feature, "b", name="B-feature")
    await _create(databases, main, "c", name="C-main")
    await _create(databases, feature, "c", name="C-feature")
    preview = await merge_preview(databases.manage)(scopes=main, from_ref="feature")
    assert not preview.fast_forward
    found = {(c.row_key, c.kind, tuple(c.columns)) for c in preview.conflicts}
    assert found == {
        ("a", "modify/delete", ()),
        ("b", "delete/modify", ()),
        ("c", "add/add", ("name",)),
    }
    by_key = {c.row_key: c for c in preview.conflicts}
    assert by_key["a"].theirs is None
    assert by_key["a"].ours is not None
    assert by_key["b"].ours is None
    assert by_key["b"].base is not None
    assert by_key["c"].base is None
    with pytest.raises(MergeConflict):
        await merge(databases.manage)(scopes=main, from_ref="feature")
    await merge(databases.manage)(
        scopes=main,
        from_ref="feature",
        resolutions={"agents:a": "theirs", "agents:b": "theirs", "agents:c": "ours"},
    )
    assert await get_agent(databases.manage)(scopes=main, agent_id="a") is None
    assert (await _agent(databases, main, "b")).name == "B-feature"
    assert (await _agent(databases, main, "c")).name == "C-main"


async def test_a_merge_whose_cascade_drops_a_kept_row_is_rolled_back(
    databases: TestDatabases, ids: Ids
) -> None:
    """Theirs deletes an agent while ours adds a sub-agent under it: deleting the agent
    would cascade to the sub-agent the merge keeps."""
    main = await _project(databases, ids)
    await _create(databases, main, "a", name="A")
    await _create(databases, main, "b", name="B")
    feature = await _feature(databases, main)
    await delete_agent(databases.manage)(scopes=feature, agent_id="a")
    await _update(databases, feature, "b", name="B-feature")
    await create_sub_agent(databases.manage)(
        scopes=AgentScope(ids.tenant, ids.project, "a"), data={"id": "s", "name": "S"}
    )
    head = await _head(databases, main)
    with pytest.raises(ApplyFailed) as caught:
        await merge(databases.manage)(scopes=main, from_ref="feature")
    assert caught.value.rows == [("sub_agents", "a\x1fs")]
    assert "sub_agents 'a/s'" in str(caught.value)
    # Rolled back whole: the agent, its sub-agent, b and the head are as they were.
    assert await _head(databases, main) == head
    assert (await _agent(databases, main, "a")).name == "A"
    assert (await _agent(databases, main, "b")).name == "B"
    sub = await get_sub_agent(databases.manage)(
        scopes=AgentScope(ids.tenant, ids.project, "a"), sub_agent_id="s"
    )
    assert sub is not None


async def test_a_merge_that_would_orphan_a_row_names_it_and_changes_nothing(
    databases: TestDatabases, ids: Ids
) -> None:
    """Ours deletes an agent while theirs adds a sub-agent under it: the sub-agent the
    merge would keep references an agent it drops."""
    main = await _project(databases, ids)
    await _create(databases, main, "a", name="A")
    await _create(databases, main, "b", name="B")
    await _feature(databases, main)
    await create_sub_agent(databases.manage)(
        scopes=AgentScope(ids.tenant, ids.project, "a", ref="feature"),
        data={"id": "s", "name": "S"},
    )
    await delete_agent(databases.manage)(scopes=main, agent_id="a")
    await _update(databases, main, "b", name="B-main")
    head = await _head(databases, main)
    with pytest.raises(ApplyFailed) as caught:
        await merge(databases.manage)(scopes=main, from_ref="feature")
    assert caught.value.rows == [("sub_agents", "a\x1fs")]
    assert "sub_agents 'a/s'" in str(caught.value)
    assert "reference rows it does not keep" in str(caught.value)
    assert await _head(databases, main) == head
    assert await get_agent(databases.manage)(scopes=main, agent_id="a") is None
    assert (await _agent(databases, main, "b")).name == "B-main"
    assert (await status(databases.manage)(scopes=main)).clean


async def test_revert_keeps_later_changes(databases: TestDatabases, ids: Ids) -> None:
    main = await _project(databases, ids)
    await _create(databases, main, "a", name="A", prompt="p0")
    await _create(databases, main, "b", name="B")
    await _update(databases, main, "a", description="oops")
    bad = await _head(databases, main)
    await _update(databases, main, "a", name="A2")  # the same row, another column
    await _update(databases, main, "b", description="later")
    await _create(databases, main, "c", name="C")
    created = await _head(databases, main)
    result = await revert(databases.manage)(scopes=main, commit_ref=bad, author="dave")
    assert result.committed
    a = await _agent(databases, main, "a")
    assert (a.description, a.name, a.prompt) == (None, "A2", "p0")
    assert (await _agent(databases, main, "b")).description == "later"
    newest = (await _history(databases, main))[0]
    assert (newest.id, newest.message, newest.author) == (
        result.commit_id,
        'Revert "Update agent a"',
        "dave",
    )
    assert newest.merge_parent_id is None
    await _head(databases, main)
    # Reverting a creation deletes the row.
    await revert(databases.manage)(scopes=main, commit_ref=created)
    assert await get_agent(databases.manage)(scopes=main, agent_id="c") is None
    # A later change to what the commit changed is a conflict.
    await _update(databases, main, "a", prompt="p1")
    changed = await _head(databases, main)
    await _update(databases, main, "a", prompt="p2")
    with pytest.raises(MergeConflict) as caught:
        await revert(databases.manage)(scopes=main, commit_ref=changed)
    assert [(c.row_key, c.columns) for c in caught.value.conflicts] == [("a", ["prompt"])]
    root = (await _history(databases, main))[-1].id
    with pytest.raises(InvalidRef):
        await revert(databases.manage)(scopes=main, commit_ref=root)


async def test_a_stale_preview_is_rejected(databases: TestDatabases, ids: Ids) -> None:
    main = await _project(databases, ids)
    await _create(databases, main, "a", name="A")
    feature = await _feature(databases, main)
    await _update(databases, feature, "a", name="A-feature")
    await _create(databases, main, "b", name="B")
    preview = await merge_preview(databases.manage)(scopes=main, from_ref="feature")
    assert (preview.ours, preview.theirs) == (
        await _head(databases, main),
        await _head(databases, feature),
    )
    assert not preview.fast_forward
    assert not preview.conflicts
    assert preview.rows == 1
    await _create(databases, main, "c", name="C")  # main moves on
    with pytest.raises(Conflict, match="stale preview"):
        await merge(databases.manage)(
            scopes=main, from_ref="feature", expected_heads=(preview.ours, preview.theirs)
        )
    fresh = await merge_preview(databases.manage)(scopes=main, from_ref="feature")
    result = await merge(databases.manage)(
        scopes=main, from_ref="feature", expected_heads=(fresh.ours, fresh.theirs)
    )
    assert result.committed
    assert (await _agent(databases, main, "a")).name == "A-feature"


async def test_fast_forward_preview(databases: TestDatabases, ids: Ids) -> None:
    main = await _project(databases, ids)
    feature = await _feature(databases, main)
    await _create(databases, feature, "a", name="A")
    preview = await merge_preview(databases.manage)(scopes=main, from_ref="feature")
    assert preview.fast_forward
    assert not preview.up_to_date
    assert preview.rows == 1


async def test_diff_counts_and_column_changes(databases: TestDatabases, ids: Ids) -> None:
    main = await _project(databases, ids)
    await _create(databases, main, "a", name="A", prompt="p")
    await _create(databases, main, "b", name="B")
    feature = await _feature(databases, main)
    await _update(databases, feature, "a", name="A2")
    await delete_agent(databases.manage)(scopes=feature, agent_id="b")
    await _create(databases, feature, "c", name="C")
    found = await diff(databases.manage)(scopes=main, from_ref="main", to_ref="feature")
    assert found.from_commit == await _head(databases, main)
    assert found.to_commit == await _head(databases, feature)
    assert found.counts == {"agents": TableCounts(added=1, modified=1, removed=1)}
    by_key = {r.row_key: r for r in found.rows}
    assert {k: r.kind for k, r in by_key.items()} == {
        "a": "modified",
        "b": "removed",
        "c": "added",
    }
    columns = {c.column: (c.before, c.after) for c in by_key["a"].columns}
    assert columns["name"] == ("A", "A2")
    assert "prompt" not in columns
    assert by_key["b"].after is None
    assert by_key["b"].before is not None
    assert by_key["c"].after is not None
    assert by_key["c"].after["name"] == "C"
    # Two branch heads are compared in the database; the same commits named by id are
    # compared by their manifests: the same diff, both ways.
    for a, b in (("main", "feature"), ("feature", "main")):
        heads_diff = await diff(databases.manage)(scopes=main, from_ref=a, to_ref=b)
        by_id = await diff(databases.manage)(
            scopes=main, from_ref=heads_diff.from_commit, to_ref=heads_diff.to_commit
        )
        assert heads_diff == by_id
    same = await diff(databases.manage)(scopes=main, from_ref="main")
    assert same.rows == []
    assert same.counts == {}
    back = await diff(databases.manage)(scopes=feature, from_ref="feature~3")
    assert back.counts == {"agents": TableCounts(added=1, modified=1, removed=1)}


async def test_reset_moves_the_head_and_the_rows_back(databases: TestDatabases, ids: Ids) -> None:
    main = await _project(databases, ids)
    await _create(databases, main, "a", name="A")
    target = await _head(databases, main)
    await _update(databases, main, "a", name="A2")
    await _create(databases, main, "b", name="B")
    result = await reset(databases.manage)(scopes=main, to_ref="main~2")
    assert result.commit_id == target
    assert await _head(databases, main) == target
    assert (await _agent(databases, main, "a")).name == "A"
    assert await get_agent(databases.manage)(scopes=main, agent_id="b") is None
    # Work continues from there.
    await _create(databases, main, "c", name="C")
    assert (await _history(databases, main))[0].parent_id == target


def test_rows_merge_by_column_and_json_key() -> None:
    base = {"name": "A", "config": {"a": 1, "x": 9, "b": {"c": 1}, "list": [1]}, "tags": [1]}
    # Different columns, different keys (nested too), a key added and one removed.
    ours = {"name": "A2", "config": {"a": 2, "x": 9, "b": {"c": 1}, "list": [1]}, "tags": [1]}
    theirs = {
        "name": "A",
        "config": {"a": 1, "b": {"c": 1, "d": 4}, "list": [1], "new": 1},
        "tags": [1],
    }
    merged, clashes = merge_rows(base, ours, theirs)
    assert clashes == []
    assert merged == {
        "name": "A2",
        "config": {"a": 2, "b": {"c": 1, "d": 4}, "list": [1], "new": 1},
        "tags": [1],
    }
    # Removed on one side while changed on the other is a conflict at that key.
    gone = {"name": "A", "config": {"x": 9, "b": {"c": 1}, "list": [1]}, "tags": [1]}
    assert merge_rows(base, ours, gone)[1] == ["config.a"]
    # Arrays edited on both sides conflict, even inside an object.
    mine = {**base, "tags": [1, 2], "config": {**base["config"], "list": [1, 2]}}  # type: ignore[dict-item]
    other = {**base, "tags": [1, 3], "config": {**base["config"], "list": [0, 1]}}  # type: ignore[dict-item]
    assert merge_rows(base, mine, other)[1] == ["config.list", "tags"]
    # Timestamps never conflict: the earliest creation, the latest update.
    stamps = {"created_at": "2024-01-01T00:00:00+00:00", "updated_at": "2024-01-01T00:00:00+00:00"}
    early = {"created_at": "2024-01-02T00:00:00+00:00", "updated_at": "2024-01-02T00:00:00+00:00"}
    late = {"created_at": "2024-01-03T00:00:00+00:00", "updated_at": "2024-01-03T00:00:00+00:00"}
    merged, clashes = merge_rows(stamps, early, late)
    assert clashes == []
    assert merged == {"created_at": early["created_at"], "updated_at": late["updated_at"]}


async def _working_manifest(
    databases: TestDatabases, ids: Ids, branch: str
) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    async with databases.manage.read() as conn:
        for versioned in versioned_tables():
            table = versioned.table
            rows = await conn.execute(
                select(table).where(
                    table.c.tenant_id == ids.tenant,
                    table.c[versioned.project_column] == ids.project,
                    table.c.branch == branch,
                )
            )
            for row in rows.mappings():
                found[(versioned.name, versioned.row_key(row))] = versioned.image(row)[0]
    return found


async def _head_manifest(
    databases: TestDatabases, ids: Ids, branch: str
) -> dict[tuple[str, str], str]:
    async with databases.manage.read() as conn:
        return await head_manifest(conn, Branch(ids.tenant, ids.project, branch))


async def test_random_edits_on_two_branches_merge_to_a_consistent_head(
    databases: TestDatabases, ids: Ids
) -> None:
    """Random edits on both sides (agents on both, sub-agents on feature), every
    conflict resolved as theirs: the working rows of main are exactly its new head's
    manifest, and merging back fast-forwards feature to the same rows."""
    main = await _project(databases, ids)
    shared = [f"s{i}" for i in range(4)]
    for agent_id in shared:
        await _create(databases, main, agent_id, name=agent_id, prompt="p")
    feature = await _feature(databases, main)
    rng = random.Random(11)  # noqa: S311 - a fixed, repeatable sequence of operations
    own: dict[str, list[str]] = {"main": [], "feature": []}
    subs: list[tuple[str, str]] = []
    for step in range(24):
        side = rng.choice(["main", "feature"])
        scope = main if side == "main" else feature
        choice = rng.random()
        if choice < 0.4:
            agent_id = rng.choice(shared + own[side])
            column = rng.choice(["name", "prompt", "description"])
            await _update(databases, scope, agent_id, **{column: f"{side}-{step}"})
        elif choice < 0.6:
            agent_id = f"{side[0]}{step}"
            await _create(databases, scope, agent_id, name=agent_id)
            own[side].append(agent_id)
        elif choice < 0.7 and own[side]:
            agent_id = own[side].pop(rng.randrange(len(own[side])))
            await delete_agent(databases.manage)(scopes=scope, agent_id=agent_id)
        elif side == "feature" and (choice < 0.9 or not subs):
            parent = rng.choice(shared)
            sub_id = f"sub{step}"
            await create_sub_agent(databases.manage)(
                scopes=AgentScope(ids.tenant, ids.project, parent, ref="feature"),
                data={"id": sub_id, "name": sub_id},
            )
            subs.append((parent, sub_id))
        elif side == "feature":
            parent, sub_id = subs.pop(rng.randrange(len(subs)))
            await delete_sub_agent(databases.manage)(
                scopes=AgentScope(ids.tenant, ids.project, parent, ref="feature"),
                sub_agent_id=sub_id,
            )
    preview = await merge_preview(databases.manage)(scopes=main, from_ref="feature")
    resolutions: dict[Any, Any] = {(c.table, c.row_key): "theirs" for c in preview.conflicts}
    result = await merge(databases.manage)(scopes=main, from_ref="feature", resolutions=resolutions)
    assert result.committed
    assert await _working_manifest(databases, ids, "main") == await _head_manifest(
        databases, ids, "main"
    )
    assert {k for t, k in await _working_manifest(databases, ids, "main") if t == "sub_agents"} == {
        f"{p}\x1f{s}" for p, s in subs
    }
    back = await merge(databases.manage)(scopes=feature, from_ref="main")
    assert back.fast_forward
    assert await _working_manifest(databases, ids, "feature") == await _working_manifest(
        databases, ids, "main"
    )


async def test_a_plan_from_change_sets_equals_the_manifests(
    databases: TestDatabases, ids: Ids
) -> None:
    """Random edits and merges in both directions between three branches: whenever a
    merge plan is made from the change sets since the merge base alone, the keys it
    names hold exactly the base's, ours' and theirs' manifest entries, every other key
    is the same in all three, and the plan is used at least once and refused at least
    once (a base reached only through a merge parent)."""
    main = await _project(databases, ids)
    for i in range(4):
        await _create(databases, main, f"s{i}", name=f"s{i}", prompt="p")
    names = ["main", "b1", "b2"]
    for name in names[1:]:
        await create_branch(databases.manage)(scopes=main, name=name)
    rng = random.Random(5)  # noqa: S311 - a fixed, repeatable sequence of operations
    planned = refused = 0
    for step in range(40):
        name = rng.choice(names)
        scope = main.at(name)
        if rng.random() < 0.7:
            agent_id = f"s{rng.randrange(6)}"
            if await get_agent(databases.manage)(scopes=scope, agent_id=agent_id) is None:
                await _create(databases, scope, agent_id, name=f"{name}-{step}")
            elif rng.random() < 0.2:
                await delete_agent(databases.manage)(scopes=scope, agent_id=agent_id)
            else:
                column = rng.choice(["name", "prompt"])
                await _update(databases, scope, agent_id, **{column: f"{name}-{step}"})
        else:
            other = rng.choice([n for n in names if n != name])
            preview = await merge_preview(databases.manage)(scopes=scope, from_ref=other)
            chosen: dict[Any, Any] = {(c.table, c.row_key): "theirs" for c in preview.conflicts}
            await merge(databases.manage)(scopes=scope, from_ref=other, resolutions=chosen)
        async with databases.manage.read() as conn:
            heads = {n: await _head(databases, main.at(n)) for n in names}
            for ours_name in names:
                for theirs_name in names:
                    ours, theirs = heads[ours_name], heads[theirs_name]
                    found = await merge_base(conn, ids.tenant, ids.project, ours, theirs)
                    assert found is not None
                    if found.commit_id in (ours, theirs):
                        continue
                    plan = await changed_since(
                        conn, Branch(ids.tenant, ids.project, ours_name), (ours, theirs), found
                    )
                    if plan is None:
                        refused += 1
                        continue
                    planned += 1
                    whole = [
                        await manifest_at(conn, ids.tenant, ids.project, c)
                        for c in (found.commit_id, ours, theirs)
                    ]
                    named = plan[0].keys() | plan[1].keys() | plan[2].keys()
                    for part, manifest in zip(plan, whole, strict=True):
                        assert part == {k: h for k, h in manifest.items() if k in named}
                    for key in whole[0].keys() | whole[1].keys() | whole[2].keys():
                        if key not in named:
                            assert whole[0].get(key) == whole[1].get(key) == whole[2].get(key)
    assert planned > 0
    assert refused > 0


async def test_apply_of_a_partial_manifest_checks_other_rows_against_the_head(
    databases: TestDatabases, ids: Ids
) -> None:
    """Manifests naming only the keys a merge changes: a cascade reaching a row they do
    not name (a sub-agent under a deleted agent) is measured against the head, so the
    apply fails naming it and the transaction rolls back."""
    main = await _project(databases, ids)
    await _create(databases, main, "a", name="A")
    await create_sub_agent(databases.manage)(
        scopes=AgentScope(ids.tenant, ids.project, "a"), data={"id": "s", "name": "S"}
    )
    branch = Branch(ids.tenant, ids.project, "main")
    agent = ("agents", "a")
    head = await _head_manifest(databases, ids, "main")
    with pytest.raises(ApplyFailed) as caught:
        async with transaction(databases.manage) as unit:
            await apply_manifest(unit.conn, branch, {}, {agent: head[agent]})
    assert caught.value.rows == [("sub_agents", "a\x1fs")]
    assert await get_sub_agent(databases.manage)(
        scopes=AgentScope(ids.tenant, ids.project, "a"), sub_agent_id="s"
    )
    assert (await status(databases.manage)(scopes=main)).clean
