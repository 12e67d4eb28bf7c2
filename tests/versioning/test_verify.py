"""Verification and repair: a full re-scan of a branch against its head manifest finds
exactly what was written behind the capture triggers' back, and one repair commit
brings history back to the rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import select, text

from agentfold_core.data_access.documents import get_full_project, put_full_project
from agentfold_core.data_access.doors import transaction
from agentfold_core.data_access.manage.agents import (
    create_agent,
    delete_agent,
    delete_sub_agent,
    update_agent,
)
from agentfold_core.db.engine import create_database
from agentfold_core.errors import NotFound
from agentfold_core.scopes import AgentScope, ProjectScope
from agentfold_core.versioning.capture import CaptureSpec
from agentfold_core.versioning.commit import Branch, uncommitted
from agentfold_core.versioning.operations import log, status
from agentfold_core.versioning.rows import versioned_by_name, versioned_tables
from agentfold_core.versioning.tables import changes, heads
from agentfold_core.versioning.verify import (
    Mismatch,
    repair,
    repair_branch,
    verify,
    verify_branch,
    working_hashes,
)
from tests.conftest import Ids
from tests.support.databases import TestDatabases
from tests.support.entities import AnyEntity, all_entities, functions, ident, is_manage
from tests.support.graph import Context, Graph, sample_for
from tests.support.project_document import realistic_project


async def _project(databases: TestDatabases, ids: Ids) -> ProjectScope:
    scope = ProjectScope(ids.tenant, ids.project)
    put = put_full_project(databases.manage, databases.runtime)
    await put(scopes=scope, document=realistic_project(ids.project))
    return scope


async def _manifest(databases: TestDatabases, scope: ProjectScope) -> dict[tuple[str, str], str]:
    async with databases.manage.read() as conn:
        stmt = select(heads.c.table_name, heads.c.row_key, heads.c.row_hash).where(
            Branch(scope.tenant_id, scope.project_id, "main").where(heads)
        )
        return {(str(t), str(k)): str(h) for t, k, h in (await conn.execute(stmt)).all()}


async def _working(databases: TestDatabases, scope: ProjectScope) -> dict[tuple[str, str], str]:
    async with databases.manage.read(snapshot=True) as conn:
        return await working_hashes(conn, Branch(scope.tenant_id, scope.project_id, "main"))


async def _changes_of(databases: TestDatabases, commit_id: str) -> set[Mismatch]:
    async with databases.manage.read() as conn:
        stmt = select(
            changes.c.table_name, changes.c.row_key, changes.c.before_hash, changes.c.after_hash
        ).where(changes.c.commit_id == commit_id)
        return {Mismatch(str(t), str(k), b, a) for t, k, b, a in (await conn.execute(stmt)).all()}


@asynccontextmanager
async def _without_capture(databases: TestDatabases, table: str) -> AsyncIterator[None]:
    """The table's capture triggers dropped for the block, then reinstalled."""
    spec = CaptureSpec.of(versioned_by_name()[table])
    dialect = databases.backend
    async with databases.manage.write() as conn:
        for sql in spec.drop_sql(dialect):
            await conn.execute(text(sql))
    try:
        yield
    finally:
        async with databases.manage.write() as conn:
            for sql in spec.create_sql(dialect):
                await conn.execute(text(sql))


# --------------------------------------------------------------------------- agreement


async def test_verify_agrees_with_commits_after_ordinary_writes(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await _project(databases, ids)
    report = await verify(databases.manage)(scopes=scope)
    assert report.mismatches == []
    assert report.clean
    assert (report.branch, report.head) == (
        "main",
        (await status(databases.manage)(scopes=scope)).head,
    )
    # The re-scan saw every table of the realistic project, and nothing but it.
    working = await _working(databases, scope)
    assert {table for table, _ in working} == {v.name for v in versioned_tables()}
    assert working == await _manifest(databases, scope)

    # Updates, a whole document replaced, a cascade, raw SQL through a unit of work.
    put = put_full_project(databases.manage, databases.runtime)
    document = await get_full_project(databases.manage)(scopes=scope)
    assert document is not None
    document["agents"]["triage"]["prompt"] = "Changed."
    del document["agents"]["followup"]
    await put(scopes=scope, document=document)
    await update_agent(databases.manage)(
        scopes=scope, agent_id="escalation", data={"description": "Senior staff"}
    )
    await delete_sub_agent(databases.manage)(
        scopes=AgentScope(ids.tenant, ids.project, "escalation"), sub_agent_id="specialist"
    )
    async with transaction(databases.manage, message="raw edits") as unit:
        await unit.conn.execute(
            text(
                "UPDATE agents SET name = 'Tri\u00e9 \U0001f600', updated_at = CURRENT_TIMESTAMP, "
                'models = \'{"base": {"model": "m", "temperature": 1.0, "top": 0.25, '
                '"big": 12345678901234567890, "e": 1e20, "u": "\\u00e9"}}\' '
                "WHERE tenant_id = :t AND project_id = :p AND id = 'triage'"
            ),
            {"t": ids.tenant, "p": ids.project},
        )
        await unit.conn.execute(
            text(
                "UPDATE sub_agent_skills SET always_loaded = NOT always_loaded "
                "WHERE tenant_id = :t AND project_id = :p"
            ),
            {"t": ids.tenant, "p": ids.project},
        )
    assert unit.commits
    await delete_agent(databases.manage)(scopes=scope, agent_id="escalation")
    assert (await verify(databases.manage)(scopes=scope)).mismatches == []
    assert await _working(databases, scope) == await _manifest(databases, scope)


MANAGE = [e for e in all_entities() if is_manage(e) and not e.traits.self_scoped]


@pytest.mark.parametrize("entity", MANAGE, ids=lambda e: e.traits.name)
async def test_verify_agrees_after_every_public_write(
    databases: TestDatabases, ids: Ids, entity: AnyEntity
) -> None:
    """Walks the registry: create, update and delete of each manage entity leave the
    re-scan and the commits in agreement."""
    graph = Graph(databases)
    ctx = Context(ids.tenant, ids.project)
    scope = await graph.prepare(entity, ctx)
    project = ctx.project_scope()
    check = verify(databases.manage)
    assert (await check(scopes=project)).mismatches == []
    sample = sample_for(entity)
    fns = functions(entity)
    row = await fns.create(databases.manage)(scopes=scope, data=ctx.fill(sample.create))
    assert (await check(scopes=project)).mismatches == []
    key = ident(entity, row.id)
    update: dict[str, Any] = ctx.fill(sample.update)
    if update:
        await fns.update(databases.manage)(scopes=scope, data=update, **key)
        assert (await check(scopes=project)).mismatches == []
    assert await fns.delete(databases.manage)(scopes=scope, **key) is True
    assert (await check(scopes=project)).mismatches == []


async def test_verify_of_a_branch_that_does_not_exist(databases: TestDatabases, ids: Ids) -> None:
    scope = await _project(databases, ids)
    with pytest.raises(NotFound, match="no branch 'nope'"):
        await verify(databases.manage)(scopes=scope.at("nope"))
    with pytest.raises(NotFound):
        await repair(databases.manage)(scopes=ProjectScope(ids.tenant, "p-none"))


# --------------------------------------------------------------------------- corruption


async def test_rows_written_behind_the_triggers_back_are_found_and_repaired(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await _project(databases, ids)
    await create_agent(databases.manage)(scopes=scope, data={"id": "solo", "name": "Solo"})
    before = await _manifest(databases, scope)
    keys = {"t": ids.tenant, "p": ids.project}
    async with _without_capture(databases, "agents"), databases.manage.write() as conn:
        await conn.execute(
            text(
                "UPDATE agents SET name = 'Renamed' "
                "WHERE tenant_id = :t AND project_id = :p AND id = 'triage'"
            ),
            keys,
        )
        await conn.execute(
            text(
                "INSERT INTO agents (tenant_id, project_id, branch, id, name, "
                "execution_mode, created_at, updated_at) VALUES (:t, :p, 'main', 'sneaky', "
                "'Sneaky', 'classic', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            keys,
        )
        await conn.execute(
            text("DELETE FROM agents WHERE tenant_id = :t AND project_id = :p AND id = 'solo'"),
            keys,
        )
    # Nothing recorded them: the commit path sees no change at all.
    async with databases.manage.read() as conn:
        assert await uncommitted(conn, Branch(ids.tenant, ids.project, "main")) == []

    working = await _working(databases, scope)
    expected = [
        Mismatch("agents", "sneaky", None, working[("agents", "sneaky")]),
        Mismatch("agents", "solo", before[("agents", "solo")], None),
        Mismatch("agents", "triage", before[("agents", "triage")], working[("agents", "triage")]),
    ]
    report = await verify(databases.manage)(scopes=scope)
    assert report.mismatches == expected
    assert [m.kind for m in report.mismatches] == ["unrecorded", "gone", "changed"]
    assert not report.clean

    made = await repair(databases.manage)(scopes=scope, author="ops")
    assert made.commit is not None
    assert made.repaired == expected
    newest = (await log(databases.manage)(scopes=scope)).data
    assert (newest[0].id, newest[0].message, newest[0].author) == (made.commit, "Repair", "ops")
    assert newest[1].parent_id == newest[2].id  # one commit only
    assert newest[0].parent_id == newest[1].id
    assert await _changes_of(databases, made.commit) == set(expected)
    assert (await verify(databases.manage)(scopes=scope)).clean
    assert (await status(databases.manage)(scopes=scope)).clean
    # A second repair finds nothing and commits nothing.
    again = await repair(databases.manage)(scopes=scope, author="ops")
    assert (again.commit, again.repaired) == (None, [])
    assert (await log(databases.manage)(scopes=scope)).data[0].id == made.commit


async def test_a_manifest_edited_by_hand_is_found_and_repaired(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await _project(databases, ids)
    before = await _manifest(databases, scope)
    working = await _working(databases, scope)
    keys = {"t": ids.tenant, "p": ids.project}
    bogus = "0" * 40
    async with databases.manage.write() as conn:
        await conn.execute(
            text(
                "UPDATE vc_heads SET row_hash = :h WHERE tenant_id = :t AND project_id = :p "
                "AND branch = 'main' AND table_name = 'sub_agents' AND row_key = :k"
            ),
            {**keys, "h": bogus, "k": "triage\x1frouter"},
        )
        await conn.execute(
            text(
                "DELETE FROM vc_heads WHERE tenant_id = :t AND project_id = :p "
                "AND branch = 'main' AND table_name = 'projects'"
            ),
            keys,
        )
        await conn.execute(
            text(
                "INSERT INTO vc_heads (tenant_id, project_id, branch, table_name, row_key, "
                "row_hash) VALUES (:t, :p, 'main', 'sub_agent_tool_relations', :k, :h)"
            ),
            {**keys, "h": bogus, "k": "triage\x1frouter\x1fghost"},
        )
    expected = [
        Mismatch("projects", ids.project, None, working[("projects", ids.project)]),
        Mismatch("sub_agent_tool_relations", "triage\x1frouter\x1fghost", bogus, None),
        Mismatch(
            "sub_agents", "triage\x1frouter", bogus, working[("sub_agents", "triage\x1frouter")]
        ),
    ]
    async with databases.manage.read(snapshot=True) as conn:
        assert await verify_branch(conn, ids.tenant, ids.project, "main") == expected

    # The library call, inside a transaction of its own.
    async with databases.manage.write() as conn:
        commit_id = await repair_branch(
            conn, ids.tenant, ids.project, "main", message="Fix the manifest", author="ops"
        )
    assert commit_id is not None
    assert await _changes_of(databases, commit_id) == set(expected)
    assert await _manifest(databases, scope) == before == working
    async with databases.manage.write() as conn:
        assert await verify_branch(conn, ids.tenant, ids.project, "main") == []
        assert (
            await repair_branch(conn, ids.tenant, ids.project, "main", message="x", author="y")
            is None
        )
    newest = (await log(databases.manage)(scopes=scope)).data[0]
    assert (newest.id, newest.message, newest.author) == (commit_id, "Fix the manifest", "ops")


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_hashes_do_not_depend_on_the_session_time_zone(
    backend: str, databases: TestDatabases, ids: Ids
) -> None:
    """PostgreSQL hands timestamps back in the session's ``TimeZone`` (typed and as
    JSON alike): an image names the instant in UTC, so a client in another time zone
    neither records spurious changes nor sees every row as changed (only PostgreSQL
    sessions have a time zone)."""
    scope = await _project(databases, ids)
    elsewhere = create_database(
        f"{databases.manage_url}?options=-c%20timezone%3DAsia/Kolkata", "manage"
    )
    before = await _manifest(databases, scope)
    try:
        assert (await verify(elsewhere)(scopes=scope)).mismatches == []
        async with transaction(elsewhere, message="from Kolkata") as unit:
            await unit.conn.execute(
                text("UPDATE agents SET name = 'Renamed' WHERE tenant_id = :t AND id = 'triage'"),
                {"t": ids.tenant},
            )
        assert len(unit.commits) == 1
        after = await _manifest(databases, scope)
        key = ("agents", "triage")
        assert await _changes_of(databases, unit.commits[0]) == {
            Mismatch(*key, before[key], after[key])
        }
        assert (await verify(elsewhere)(scopes=scope)).mismatches == []
    finally:
        await elsewhere.dispose()
    assert (await verify(databases.manage)(scopes=scope)).mismatches == []


async def test_a_repair_joins_a_unit_of_work_and_commits_with_it(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await _project(databases, ids)
    async with databases.manage.write() as conn:
        await conn.execute(
            text(
                "DELETE FROM vc_heads WHERE tenant_id = :t AND project_id = :p "
                "AND table_name = 'tools'"
            ),
            {"t": ids.tenant, "p": ids.project},
        )
    async with transaction(databases.manage, author="ops", message="Maintenance") as unit:
        made = await repair(unit)(scopes=scope)
        await update_agent(unit)(scopes=scope, agent_id="triage", data={"name": "Renamed"})
    assert made.commit is None  # the unit commits, once, at its end
    assert [(m.table, m.row_key, m.kind) for m in made.repaired] == [
        ("tools", "crm", "unrecorded"),
        ("tools", "zendesk", "unrecorded"),
    ]
    [commit_id] = unit.commits
    assert {(m.table, m.row_key) for m in await _changes_of(databases, commit_id)} == {
        ("agents", "triage"),
        ("tools", "crm"),
        ("tools", "zendesk"),
    }
    newest = (await log(databases.manage)(scopes=scope)).data[0]
    assert (newest.id, newest.message, newest.author) == (commit_id, "Maintenance", "ops")
    assert (await verify(databases.manage)(scopes=scope)).clean
