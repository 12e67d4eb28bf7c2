"""Reads at any ref through the ordinary get_* / list_* / get_full_project, and writes
that name anything but a branch refused without a change."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from agentfold_core.data_access.documents import get_full_agent, get_full_project, put_full_project
from agentfold_core.data_access.documents.read import assemble, read_rows
from agentfold_core.data_access.documents.tree import AGENT_NODE, PROJECT_NODE
from agentfold_core.data_access.doors import reading, transaction
from agentfold_core.data_access.manage.agents import (
    create_agent,
    get_agent,
    list_agents,
    update_agent,
)
from agentfold_core.errors import InvalidReference, NotFound, ReadOnlyRef
from agentfold_core.scopes import AgentScope, ProjectScope
from agentfold_core.versioning import past_rows
from agentfold_core.versioning.branches import create_tag
from agentfold_core.versioning.commit import Branch
from agentfold_core.versioning.materialise import KEEP_MATERIALISED, drop_branch_rows, internal_name
from agentfold_core.versioning.operations import log, status
from agentfold_core.versioning.tables import branches
from tests.conftest import Ids
from tests.support.databases import TestDatabases
from tests.support.project_document import realistic_project


async def _names(databases: TestDatabases, scope: ProjectScope) -> dict[str, str]:
    page = await list_agents(databases.manage)(scopes=scope, limit=100)
    return {a.id: a.name for a in page.data}


async def test_reads_at_tags_commits_prefixes_and_ancestors(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = ProjectScope(ids.tenant, ids.project)
    await put_full_project(databases.manage, databases.runtime)(
        scopes=scope, document=realistic_project(ids.project)
    )
    before = await get_full_project(databases.manage)(scopes=scope)
    names_before = await _names(databases, scope)
    await create_tag(databases.manage)(scopes=scope, name="v1")
    first = (await log(databases.manage)(scopes=scope)).data[0].id
    await update_agent(databases.manage)(scopes=scope, agent_id="triage", data={"name": "T2"})
    await create_agent(databases.manage)(scopes=scope, data={"id": "later", "name": "Later"})
    await update_agent(databases.manage)(scopes=scope, agent_id="triage", data={"name": "T3"})
    assert (await _names(databases, scope))["triage"] == "T3"

    for ref in ("v1", first, first[:7], "main~3"):
        at = scope.at(ref)
        assert await _names(databases, at) == names_before, ref
        agent = await get_agent(databases.manage)(scopes=at, agent_id="triage")
        assert agent is not None
        assert agent.name == names_before["triage"]
        assert await get_agent(databases.manage)(scopes=at, agent_id="later") is None
        assert await get_full_project(databases.manage)(scopes=at) == before
    middle = await get_agent(databases.manage)(scopes=scope.at("main~1"), agent_id="triage")
    assert middle is not None
    assert middle.name == "T2"
    # The branch itself is untouched and clean.
    assert (await status(databases.manage)(scopes=scope)).clean


async def test_a_missing_ref_is_not_found_for_gets_and_lists(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = ProjectScope(ids.tenant, ids.project)
    await put_full_project(databases.manage, databases.runtime)(
        scopes=scope, document=realistic_project(ids.project)
    )
    for ref in ("nope", "main~99", "deadbeefdead"):
        with pytest.raises(NotFound) as caught:
            await get_agent(databases.manage)(scopes=scope.at(ref), agent_id="triage")
        assert caught.value.context["key"]["ref"] == ref
        with pytest.raises(NotFound):
            await list_agents(databases.manage)(scopes=scope.at(ref))
    # An empty branch is empty, not missing; so is a project that does not exist.
    assert await get_agent(databases.manage)(scopes=scope, agent_id="ghost") is None
    nothing = ProjectScope(ids.tenant, "no-such-project")
    assert (await list_agents(databases.manage)(scopes=nothing)).data == []


async def test_writes_to_a_tag_or_a_commit_are_refused_and_change_nothing(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = ProjectScope(ids.tenant, ids.project)
    await put_full_project(databases.manage, databases.runtime)(
        scopes=scope, document=realistic_project(ids.project)
    )
    await create_tag(databases.manage)(scopes=scope, name="v1")
    history = len((await log(databases.manage)(scopes=scope, limit=100)).data)
    with pytest.raises(ReadOnlyRef):
        await update_agent(databases.manage)(
            scopes=scope.at("main~1"), agent_id="triage", data={"name": "X"}
        )
    # A tag's name is not a branch: nothing to write into (the project row is missing
    # there), and nothing is written.
    with pytest.raises((ReadOnlyRef, InvalidReference)):
        await create_agent(databases.manage)(scopes=scope.at("v1"), data={"id": "x", "name": "X"})
    assert (
        await update_agent(databases.manage)(
            scopes=scope.at("v1"), agent_id="triage", data={"name": "X"}
        )
        is None
    )
    assert len((await log(databases.manage)(scopes=scope, limit=100)).data) == history
    agent = await get_agent(databases.manage)(scopes=scope.at("v1"), agent_id="triage")
    assert agent is not None
    assert agent.name != "X"


async def test_materialised_commits_are_evicted_least_recently_read_first(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = ProjectScope(ids.tenant, ids.project)
    await put_full_project(databases.manage, databases.runtime)(
        scopes=scope, document=realistic_project(ids.project)
    )
    for n in range(KEEP_MATERIALISED + 3):
        await update_agent(databases.manage)(
            scopes=scope, agent_id="triage", data={"name": f"T{n}"}
        )
    for n in range(1, KEEP_MATERIALISED + 4):
        await get_agent(databases.manage)(scopes=scope.at(f"main~{n}"), agent_id="triage")
    async with databases.manage.read() as conn:
        count = await conn.execute(
            select(func.count())
            .select_from(branches)
            .where(
                branches.c.tenant_id == ids.tenant,
                branches.c.project_id == ids.project,
                branches.c.internal.is_(True),
            )
        )
        assert count.scalar_one() == KEEP_MATERIALISED
    # An evicted commit reads again, materialised anew.
    again = await get_agent(databases.manage)(scopes=scope.at("main~1"), agent_id="triage")
    assert again is not None
    assert again.name == f"T{KEEP_MATERIALISED + 1}"


async def _internal_branches(databases: TestDatabases, ids: Ids) -> int:
    async with databases.manage.read() as conn:
        count = await conn.execute(
            select(func.count())
            .select_from(branches)
            .where(
                branches.c.tenant_id == ids.tenant,
                branches.c.project_id == ids.project,
                branches.c.internal.is_(True),
            )
        )
        return int(count.scalar_one())


@pytest.mark.parametrize("images_at_once", [None, 3], ids=["one-statement", "chunked"])
async def test_documents_at_a_past_commit_read_from_images_equal_the_materialised_read(
    databases: TestDatabases, ids: Ids, monkeypatch: pytest.MonkeyPatch, images_at_once: int | None
) -> None:
    """Also with the images read a few hashes per statement (as a project larger than
    one statement's parameters is)."""
    if images_at_once is not None:
        monkeypatch.setattr(past_rows, "_IMAGES_AT_ONCE", images_at_once)
    scope = ProjectScope(ids.tenant, ids.project)
    await put_full_project(databases.manage, databases.runtime)(
        scopes=scope, document=realistic_project(ids.project)
    )
    await update_agent(databases.manage)(scopes=scope, agent_id="triage", data={"name": "T2"})
    await create_agent(databases.manage)(scopes=scope, data={"id": "later", "name": "Later"})
    await update_agent(databases.manage)(scopes=scope, agent_id="triage", data={"name": "T3"})
    for ref in ("main~1", "main~3"):
        at = scope.at(ref)
        # Read cold: straight from the commit's row images, nothing materialised.
        cold = await get_full_project(databases.manage)(scopes=at)
        cold_agent = await get_full_agent(databases.manage)(
            scopes=AgentScope(ids.tenant, ids.project, "triage", ref=ref)
        )
        assert await _internal_branches(databases, ids) == 0
        # The same commit read from its materialised copy by the branch statements.
        commit_id = (await log(databases.manage)(scopes=at, limit=1)).data[0].id
        await list_agents(databases.manage)(scopes=at)
        async with reading(databases.manage, scope.at(internal_name(commit_id))) as access:
            project_rows = await read_rows(access, PROJECT_NODE, ids.project)
            agent_rows = await read_rows(access, AGENT_NODE, "triage")
        assert cold is not None
        assert cold == assemble(PROJECT_NODE, project_rows)
        assert cold_agent is not None
        assert cold_agent == assemble(AGENT_NODE, agent_rows)
        assert ("later" in cold["agents"]) == (ref == "main~1")
        await _evict_all(databases, ids)
    # An agent the past commit does not hold reads as None.
    missing = AgentScope(ids.tenant, ids.project, "later", ref="main~3")
    assert await get_full_agent(databases.manage)(scopes=missing) is None


async def _evict_all(databases: TestDatabases, ids: Ids) -> None:
    async with transaction(databases.manage) as unit:
        found = await unit.conn.execute(
            select(branches.c.branch).where(
                branches.c.tenant_id == ids.tenant,
                branches.c.project_id == ids.project,
                branches.c.internal.is_(True),
            )
        )
        for (name,) in found.all():
            await drop_branch_rows(unit.conn, Branch(ids.tenant, ids.project, str(name)))
