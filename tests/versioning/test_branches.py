"""Refs, history and branches: resolving refs, rebuilding any commit's manifest, and
branches and tags created from any ref."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import func, select, text

from agentfold_core.data_access.doors import reading, transaction
from agentfold_core.data_access.manage.agents import (
    create_agent,
    delete_agent,
    get_agent,
    list_agents,
    update_agent,
)
from agentfold_core.data_access.project_lifecycle import create_project
from agentfold_core.data_access.runtime.conversations import create_conversation, get_conversation
from agentfold_core.errors import Conflict, InvalidRef, NotFound
from agentfold_core.scopes import ProjectScope, TenantScope
from agentfold_core.versioning.branches import (
    create_branch,
    create_tag,
    delete_branch,
    delete_tag,
    list_branches,
    list_tags,
)
from agentfold_core.versioning.capture import capture_paused
from agentfold_core.versioning.commit import Branch, recorded
from agentfold_core.versioning.history import manifest_at, resolve_ref, split_ref
from agentfold_core.versioning.operations import log, status
from agentfold_core.versioning.tables import SNAPSHOT_EVERY, dirty, paused
from tests.conftest import Ids
from tests.support.databases import TestDatabases


async def _project(databases: TestDatabases, ids: Ids) -> ProjectScope:
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    return ProjectScope(ids.tenant, ids.project)


async def _agents(databases: TestDatabases, scope: ProjectScope) -> dict[str, str]:
    page = await list_agents(databases.manage)(scopes=scope, limit=100)
    return {a.id: a.name for a in page.data}


def test_split_ref() -> None:
    assert split_ref("main") == ("main", 0)
    assert split_ref("main~3") == ("main", 3)
    assert split_ref("main~") == ("main", 1)
    assert split_ref("v1^^") == ("v1", 2)
    assert split_ref("feature/x~2^") == ("feature/x", 3)


async def test_refs_resolve_to_commits(databases: TestDatabases, ids: Ids) -> None:
    scope = await _project(databases, ids)
    for name in ("a", "b", "c"):
        await create_agent(databases.manage)(scopes=scope, data={"id": name, "name": name})
    history = [c.id for c in (await log(databases.manage)(scopes=scope)).data]
    assert len(history) == 4
    await create_tag(databases.manage)(scopes=scope.at("main~2"), name="v1")
    async with reading(databases.manage, scope) as access:
        conn = access.conn

        async def commit_of(ref: str) -> str:
            return (await resolve_ref(conn, ids.tenant, ids.project, ref)).commit_id

        assert await commit_of("main") == history[0]
        assert (await resolve_ref(conn, ids.tenant, ids.project, "main")).branch == "main"
        assert await commit_of("main~1") == history[1]
        assert await commit_of("main^") == history[1]
        assert await commit_of("main~3") == history[3]
        assert await commit_of("v1") == history[2]
        assert await commit_of("v1^") == history[3]
        assert await commit_of(history[2]) == history[2]
        assert await commit_of(history[2][:7]) == history[2]
        from_tag = await log(databases.manage)(scopes=scope.at("v1"))
        assert [c.id for c in from_tag.data] == history[2:]
        with pytest.raises(NotFound):
            await log(databases.manage)(scopes=scope.at("nope"))
        for missing in ("main~4", "nope", history[2][:6], "0000000"):
            with pytest.raises(NotFound) as caught:
                await commit_of(missing)
            assert caught.value.context["key"] == {"project_id": ids.project, "ref": missing}


async def test_history_is_rebuilt_exactly_across_snapshots(
    databases: TestDatabases, ids: Ids
) -> None:
    """Random creates, updates and deletes (cascades included) over more commits than a
    snapshot spans: the manifest of every past commit equals the one recorded then."""
    scope = await _project(databases, ids)
    rng = random.Random(7)  # noqa: S311 - a fixed, repeatable sequence of operations
    seen: dict[str, dict[tuple[str, str], str]] = {}
    alive: set[str] = set()
    branch = Branch(ids.tenant, ids.project, "main")
    for step in range(SNAPSHOT_EVERY + 12):
        choice = rng.random()
        if not alive or choice < 0.45:
            name = f"a{step}"
            await create_agent(databases.manage)(scopes=scope, data={"id": name, "name": name})
            alive.add(name)
        elif choice < 0.8:
            name = rng.choice(sorted(alive))
            await update_agent(databases.manage)(
                scopes=scope, agent_id=name, data={"prompt": f"p{step}"}
            )
        else:
            name = rng.choice(sorted(alive))
            await delete_agent(databases.manage)(scopes=scope, agent_id=name)
            alive.discard(name)
        async with reading(databases.manage, scope) as access:
            head = (await resolve_ref(access.conn, ids.tenant, ids.project, "main")).commit_id
            seen[head] = await manifest_at(access.conn, ids.tenant, ids.project, head)
            assert await recorded(access.conn, branch) is None
    # Later, with the branch moved on: every commit rebuilds from snapshots and changes.
    async with reading(databases.manage, scope) as access:
        for commit_id, manifest in seen.items():
            assert await manifest_at(access.conn, ids.tenant, ids.project, commit_id) == manifest
    assert {k for (t, k) in next(reversed(seen.values())) if t == "agents"} == alive


async def test_a_branch_from_the_head_and_one_from_the_past(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await _project(databases, ids)
    await create_agent(databases.manage)(scopes=scope, data={"id": "a", "name": "A"})
    await create_agent(databases.manage)(scopes=scope, data={"id": "b", "name": "B"})
    info = await create_branch(databases.manage)(scopes=scope, name="feature")
    assert info.head == (await status(databases.manage)(scopes=scope)).head
    feature = scope.at("feature")
    assert await _agents(databases, feature) == {"a": "A", "b": "B"}
    assert (await status(databases.manage)(scopes=feature)).clean
    # Work on the branch does not touch main, and commits there.
    await update_agent(databases.manage)(scopes=feature, agent_id="a", data={"name": "A2"})
    assert await _agents(databases, scope) == {"a": "A", "b": "B"}
    assert (await log(databases.manage)(scopes=feature)).data[0].message == "Update agent a"
    # From a past commit: the rows of that moment.
    await create_branch(databases.manage)(scopes=scope.at("main~1"), name="old")
    old = scope.at("old")
    assert await _agents(databases, old) == {"a": "A"}
    assert (await status(databases.manage)(scopes=old)).clean
    names = [b.name for b in await list_branches(databases.manage)(scopes=scope)]
    assert names == ["feature", "main", "old"]


async def test_copies_record_nothing_and_a_pause_covers_one_branch(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await _project(databases, ids)
    await create_agent(databases.manage)(scopes=scope, data={"id": "a", "name": "A"})
    await create_agent(databases.manage)(scopes=scope, data={"id": "b", "name": "B"})
    # A copy of the head, a rebuild from the past, a materialised tag, a dropped branch.
    await create_branch(databases.manage)(scopes=scope, name="feature")
    await create_branch(databases.manage)(scopes=scope.at("main~1"), name="old")
    await create_tag(databases.manage)(scopes=scope.at("main~1"), name="v1")
    await create_branch(databases.manage)(scopes=scope, name="doomed")
    assert await delete_branch(databases.manage, databases.runtime)(scopes=scope.at("doomed"))
    async with databases.manage.engine.connect() as conn:
        for table in (dirty, paused):
            count = select(func.count()).select_from(table).where(table.c.tenant_id == ids.tenant)
            assert (await conn.execute(count)).scalar_one() == 0, table.name
        await conn.rollback()
        # Paused for one branch: the same statement's rows on other branches are recorded.
        async with conn.begin() as transaction_:
            async with capture_paused(conn, Branch(ids.tenant, ids.project, "feature")):
                await conn.execute(
                    text("UPDATE agents SET name = 'x' WHERE tenant_id = :t AND project_id = :p"),
                    {"t": ids.tenant, "p": ids.project},
                )
            # ...and once the pause is over, writes to the branch are recorded again.
            await conn.execute(
                text(
                    "UPDATE agents SET name = 'y' "
                    "WHERE tenant_id = :t AND project_id = :p AND branch = 'feature' AND id = 'b'"
                ),
                {"t": ids.tenant, "p": ids.project},
            )
            found = await conn.execute(
                select(dirty.c.branch, dirty.c.row_key).where(dirty.c.tenant_id == ids.tenant)
            )
            # (The tag's materialised copy, an internal branch, is recorded too.)
            assert sorted(tuple(r) for r in found if not r.branch.startswith("~")) == [
                ("feature", "b"),
                ("main", "a"),
                ("main", "b"),
                ("old", "a"),
            ]
            await transaction_.rollback()
    for ref in ("main", "feature", "old"):
        assert (await status(databases.manage)(scopes=scope.at(ref))).clean


async def test_branch_and_tag_names_share_one_namespace(databases: TestDatabases, ids: Ids) -> None:
    scope = await _project(databases, ids)
    await create_tag(databases.manage)(scopes=scope, name="v1", message="first")
    with pytest.raises(Conflict):
        await create_branch(databases.manage)(scopes=scope, name="v1")
    await create_branch(databases.manage)(scopes=scope, name="feature")
    with pytest.raises(Conflict):
        await create_tag(databases.manage)(scopes=scope, name="feature")
    with pytest.raises(InvalidRef):
        await create_branch(databases.manage)(scopes=scope, name="bad~name")
    assert [t.name for t in await list_tags(databases.manage)(scopes=scope)] == ["v1"]
    assert await delete_tag(databases.manage)(scopes=scope, name="v1") is True
    assert await delete_tag(databases.manage)(scopes=scope, name="v1") is False


async def test_deleting_a_branch_removes_its_rows_and_runtime_rows_only(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await _project(databases, ids)
    await create_agent(databases.manage)(scopes=scope, data={"id": "a", "name": "A"})
    await create_branch(databases.manage)(scopes=scope, name="feature")
    run_on = {"main": "c-main", "feature": "c-feature"}
    for branch, conversation in run_on.items():
        await create_conversation(databases.runtime)(
            scopes=scope,
            data={"id": conversation, "agent_id": "a", "ref": {"branch": branch}},
        )
    delete = delete_branch(databases.manage, databases.runtime)
    assert await delete(scopes=scope.at("feature")) is True
    assert await delete(scopes=scope.at("feature")) is False
    assert [b.name for b in await list_branches(databases.manage)(scopes=scope)] == ["main"]
    with pytest.raises(NotFound):  # the ref is gone
        await get_agent(databases.manage)(scopes=scope.at("feature"), agent_id="a")
    assert await get_agent(databases.manage)(scopes=scope, agent_id="a") is not None
    assert (
        await get_conversation(databases.runtime)(scopes=scope, conversation_id="c-feature") is None
    )
    kept = await get_conversation(databases.runtime)(scopes=scope, conversation_id="c-main")
    assert kept is not None
    with pytest.raises(InvalidRef):
        await delete(scopes=scope)
    assert (await status(databases.manage)(scopes=scope)).clean


async def test_two_branches_commit_independently_in_one_unit(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await _project(databases, ids)
    await create_branch(databases.manage)(scopes=scope, name="feature")
    async with transaction(databases.manage, message="both") as unit:
        await create_agent(unit)(scopes=scope, data={"id": "a", "name": "A"})
        await create_agent(unit)(scopes=scope.at("feature"), data={"id": "b", "name": "B"})
    assert len(unit.commits) == 2
    assert await _agents(databases, scope) == {"a": "A"}
    assert await _agents(databases, scope.at("feature")) == {"b": "B"}
