"""Every change is a commit: each public manage write commits in its own transaction,
captured by database triggers (cascades and raw SQL included)."""

from __future__ import annotations

from typing import Any

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from agentfold_core.data_access import crud, doors
from agentfold_core.data_access.documents import get_full_project, put_full_project
from agentfold_core.data_access.doors import transaction, writing
from agentfold_core.data_access.manage.agents import (
    AGENTS,
    create_agent,
    create_sub_agent,
    delete_agent,
    get_agent,
    update_agent,
    upsert_agent,
)
from agentfold_core.data_access.project_lifecycle import create_project, delete_project
from agentfold_core.db import prepared
from agentfold_core.scopes import AgentScope, ProjectScope, TenantScope
from agentfold_core.versioning import commit as commit_module
from agentfold_core.versioning.branches import create_branch
from agentfold_core.versioning.commit import authored_by
from agentfold_core.versioning.diff import diff
from agentfold_core.versioning.operations import BranchStatus, log, status
from agentfold_core.versioning.tables import VERSIONING_TABLES, heads
from tests.conftest import Ids
from tests.support.databases import TestDatabases
from tests.support.driver_thread import handed_to_thread
from tests.support.entities import AnyEntity, all_entities, functions, ident, is_manage
from tests.support.graph import Context, Graph, sample_for
from tests.support.project_document import realistic_project
from tests.support.statements import captured


async def _messages(databases: TestDatabases, scope: ProjectScope) -> list[str]:
    page = await log(databases.manage)(scopes=scope, limit=100)
    return [c.message for c in page.data]


async def _clean(databases: TestDatabases, scope: ProjectScope) -> BranchStatus:
    found = await status(databases.manage)(scopes=scope)
    assert found.clean, found.changes
    return found


async def test_a_new_project_starts_with_a_root_commit(databases: TestDatabases, ids: Ids) -> None:
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    scope = ProjectScope(ids.tenant, ids.project)
    page = await log(databases.manage)(scopes=scope)
    assert [(c.message, c.parent_id, c.author) for c in page.data] == [
        (f"Create project {ids.project}", None, "agentfold")
    ]
    found = await _clean(databases, scope)
    assert found.head == page.data[0].id


MANAGE = [e for e in all_entities() if is_manage(e) and not e.traits.self_scoped]


@pytest.mark.parametrize("entity", MANAGE, ids=lambda e: e.traits.name)
async def test_every_public_write_commits_and_leaves_status_clean(
    databases: TestDatabases, ids: Ids, entity: AnyEntity
) -> None:
    """Walks the registry: a new manage entity cannot be forgotten."""
    graph = Graph(databases)
    ctx = Context(ids.tenant, ids.project)
    scope = await graph.prepare(entity, ctx)
    project = ctx.project_scope()
    before = len(await _messages(databases, project))
    sample = sample_for(entity)
    fns = functions(entity)
    with authored_by("alice"):
        row = await fns.create(databases.manage)(scopes=scope, data=ctx.fill(sample.create))
    key = ident(entity, row.id)
    await _clean(databases, project)
    update: dict[str, Any] = ctx.fill(sample.update)
    if update:
        await fns.update(databases.manage)(scopes=scope, data=update, **key)
        await _clean(databases, project)
    assert await fns.delete(databases.manage)(scopes=scope, **key) is True
    await _clean(databases, project)

    history = (await log(databases.manage)(scopes=project, limit=100)).data
    made = history[: len(history) - before]
    label = entity.label
    expected = [f"Delete {label} {row.id}"]
    if update:
        expected.append(f"Update {label} {row.id}")
    expected.append(f"Create {label} {row.id}")
    assert [c.message for c in made] == expected
    assert made[-1].author == "alice"
    assert made[0].author == "agentfold"
    # Each commit's parent is the one before it.
    assert [c.parent_id for c in history[:-1]] == [c.id for c in history[1:]]


async def test_a_unit_with_no_net_change_makes_no_commit(
    databases: TestDatabases, ids: Ids
) -> None:
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    scope = ProjectScope(ids.tenant, ids.project)
    async with transaction(databases.manage, message="create and drop") as unit:
        await create_agent(unit)(scopes=scope, data={"id": "a", "name": "A"})
        await delete_agent(unit)(scopes=scope, agent_id="a")
    assert unit.commits == []
    assert await _messages(databases, scope) == [f"Create project {ids.project}"]
    await _clean(databases, scope)


async def test_a_unit_of_work_is_one_commit_with_its_message(
    databases: TestDatabases, ids: Ids
) -> None:
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    scope = ProjectScope(ids.tenant, ids.project)
    async with transaction(databases.manage, author="bob", message="Add triage") as unit:
        await create_agent(unit)(scopes=scope, data={"id": "a", "name": "A"})
        await create_sub_agent(unit)(
            scopes=AgentScope(ids.tenant, ids.project, "a"), data={"id": "s", "name": "S"}
        )
    assert len(unit.commits) == 1
    newest = (await log(databases.manage)(scopes=scope)).data[0]
    assert (newest.id, newest.message, newest.author) == (unit.commits[0], "Add triage", "bob")


async def test_writes_the_unit_did_not_announce_are_committed_too(
    databases: TestDatabases, ids: Ids
) -> None:
    # A unit forecasts the tables its data-layer calls write; raw SQL in the same unit
    # (another table, another branch) is found by the commit all the same.
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    scope = ProjectScope(ids.tenant, ids.project)
    await create_agent(databases.manage)(scopes=scope, data={"id": "a", "name": "A"})
    await create_sub_agent(databases.manage)(
        scopes=AgentScope(ids.tenant, ids.project, "a"), data={"id": "s", "name": "S"}
    )
    await create_branch(databases.manage)(scopes=scope, name="side")
    async with transaction(databases.manage, message="mixed") as unit:
        await update_agent(unit)(scopes=scope, agent_id="a", data={"name": "A2"})
        await unit.conn.execute(
            text(
                "UPDATE sub_agents SET name = 'S2' WHERE tenant_id = :t AND project_id = :p "
                "AND branch IN ('main', 'side')"
            ),
            {"t": ids.tenant, "p": ids.project},
        )
    assert len(unit.commits) == 2
    for ref, agent_name in (("main", "A2"), ("side", "A")):
        document = await get_full_project(databases.manage)(scopes=scope.at(ref))
        assert document is not None
        assert document["agents"]["a"]["name"] == agent_name
        assert document["agents"]["a"]["sub_agents"]["s"]["name"] == "S2"
        assert (await _messages(databases, scope.at(ref)))[0] == "mixed"
        await _clean(databases, scope.at(ref))


async def test_cascades_and_raw_sql_are_captured(databases: TestDatabases, ids: Ids) -> None:
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    scope = ProjectScope(ids.tenant, ids.project)
    await create_agent(databases.manage)(scopes=scope, data={"id": "a", "name": "A"})
    await create_sub_agent(databases.manage)(
        scopes=AgentScope(ids.tenant, ids.project, "a"), data={"id": "s", "name": "S"}
    )

    async def manifest() -> set[tuple[str, str]]:
        async with databases.manage.read() as conn:
            stmt = select(heads.c.table_name, heads.c.row_key).where(
                heads.c.tenant_id == ids.tenant, heads.c.project_id == ids.project
            )
            return {(str(t), str(k)) for t, k in (await conn.execute(stmt)).all()}

    assert {("agents", "a"), ("sub_agents", "a\x1fs")} <= await manifest()
    # Raw SQL inside a unit of work is committed with it.
    async with transaction(databases.manage, message="raw rename") as unit:
        await unit.conn.execute(
            text("UPDATE agents SET name = 'Renamed' WHERE tenant_id = :t AND id = 'a'"),
            {"t": ids.tenant},
        )
    newest = (await log(databases.manage)(scopes=scope)).data[0]
    assert newest.message == "raw rename"
    assert newest.id in unit.commits
    await _clean(databases, scope)
    # Deleting the agent cascades to its sub-agent: both leave the head.
    await delete_agent(databases.manage)(scopes=scope, agent_id="a")
    assert ("sub_agents", "a\x1fs") not in await manifest()
    assert ("agents", "a") not in await manifest()
    await _clean(databases, scope)


async def _new_project(databases: TestDatabases, ids: Ids) -> ProjectScope:
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    return ProjectScope(ids.tenant, ids.project)


async def test_a_small_unit_commits_on_the_calling_thread_and_a_cascade_in_the_driver_thread(
    databases: TestDatabases, ids: Ids, monkeypatch: pytest.MonkeyPatch
) -> None:
    if databases.manage.backend != "sqlite":
        pytest.skip("SQLite's driver thread")
    scope = await _new_project(databases, ids)
    await create_agent(databases.manage)(scopes=scope, data={"id": "a", "name": "A"})
    await create_sub_agent(databases.manage)(
        scopes=AgentScope(ids.tenant, ids.project, "a"), data={"id": "s", "name": "S"}
    )
    handed = handed_to_thread(monkeypatch)
    await update_agent(databases.manage)(scopes=scope, agent_id="a", data={"name": "A2"})
    assert "_drive_in_thread" not in handed
    handed.clear()
    # A delete that cascades writes rows nobody counted: its commit goes to the thread.
    await delete_agent(databases.manage)(scopes=scope, agent_id="a")
    assert "_drive_in_thread" in handed
    assert (await _messages(databases, scope))[:2] == ["Delete agent a", "Update agent a"]
    await _clean(databases, scope)


_ONE_ROW_MESSAGES = {
    "create": "Create agent a",
    "update": "Update agent a",
    "put": "Put agent a",
    "delete": "Delete agent a",
}


async def _ready_for(databases: TestDatabases, ids: Ids, operation: str) -> ProjectScope:
    """A new project, with agent ``a`` unless ``operation`` creates it."""
    scope = await _new_project(databases, ids)
    if operation != "create":
        await create_agent(databases.manage)(scopes=scope, data={"id": "a", "name": "A"})
    return scope


async def _one_row_write(databases: TestDatabases, scope: ProjectScope, operation: str) -> None:
    """``operation`` (create, update, put or delete) of agent ``a``, named B."""
    if operation == "create":
        await create_agent(databases.manage)(scopes=scope, data={"id": "a", "name": "B"})
    elif operation == "update":
        await update_agent(databases.manage)(scopes=scope, agent_id="a", data={"name": "B"})
    elif operation == "put":
        await upsert_agent(databases.manage)(scopes=scope, data={"id": "a", "name": "B"})
    else:
        await delete_agent(databases.manage)(scopes=scope, agent_id="a")


@pytest.mark.parametrize("operation", ["create", "update", "delete"])
async def test_a_one_row_commit_on_postgresql_is_one_statement(
    databases: TestDatabases, ids: Ids, operation: str
) -> None:
    if databases.manage.backend != "postgresql":
        pytest.skip("PostgreSQL's fused commit")
    scope = await _ready_for(databases, ids, operation)
    with captured(databases.manage) as statements:
        await _one_row_write(databases, scope, operation)
    commits = [sql for sql, _ in statements if "INSERT INTO vc_commits" in sql]
    assert len(commits) == 1
    # The commit, its change, the branch head and the manifest entry, and the clearing
    # of what was recorded: all in that one statement.
    assert all(table in commits[0] for table in ("vc_changes", "vc_branches", "vc_heads"))
    assert "DELETE FROM vc_dirty" in commits[0]
    assert not any("vc_changes" in sql for sql, _ in statements if sql != commits[0])
    assert (await _messages(databases, scope))[0] == _ONE_ROW_MESSAGES[operation]
    await _clean(databases, scope)


Sent = list[tuple[list[str], TransactionStatus]]


def _sent_batches(monkeypatch: pytest.MonkeyPatch, *, failing_last: bool = False) -> Sent:
    """The statements of each batch the data layer sends and the transaction's state
    after it; with ``failing_last``, a batch that ends with COMMIT fails first."""
    sent: Sent = []
    original = prepared.run_batch

    async def spy(conn: Any, batch: prepared.Batch) -> None:
        statements = [p.sql for p, values in batch if values]
        if failing_last and statements[-1:] == ["COMMIT"]:
            batch = [(_DIVIDE_BY_ZERO, ({},)), *batch]
        try:
            await original(conn, batch)
        finally:
            driver = conn.sync_connection.connection.driver_connection
            sent.append((statements, driver.info.transaction_status))

    monkeypatch.setattr(prepared, "run_batch", spy)
    return sent


_DIVIDE_BY_ZERO = prepared.Prepared("SELECT 1 / 0", None, (), (), (), ())


@pytest.mark.parametrize("operation", ["create", "update", "delete"])
async def test_on_postgresql_the_commit_goes_with_the_last_statements(
    databases: TestDatabases, ids: Ids, operation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if databases.manage.backend != "postgresql":
        pytest.skip("PostgreSQL's pipelined COMMIT")
    scope = await _ready_for(databases, ids, operation)
    sent = _sent_batches(monkeypatch)
    await _one_row_write(databases, scope, operation)
    statements, after = sent[-1]
    # The version-control commit and the transaction's COMMIT in one round trip: the
    # transaction is over when it returns.
    assert "INSERT INTO vc_commits" in statements[0]
    assert statements[-1] == "COMMIT"
    assert after == TransactionStatus.IDLE
    assert (await _messages(databases, scope))[0] == _ONE_ROW_MESSAGES[operation]
    await _clean(databases, scope)


async def test_on_postgresql_last_statements_that_fail_commit_nothing(
    databases: TestDatabases, ids: Ids, monkeypatch: pytest.MonkeyPatch
) -> None:
    if databases.manage.backend != "postgresql":
        pytest.skip("PostgreSQL's pipelined COMMIT")
    scope = await _new_project(databases, ids)
    await create_agent(databases.manage)(scopes=scope, data={"id": "a", "name": "A"})
    before = await _messages(databases, scope)
    sent = _sent_batches(monkeypatch, failing_last=True)
    with pytest.raises(DBAPIError, match="division by zero"):
        await update_agent(databases.manage)(scopes=scope, agent_id="a", data={"name": "B"})
    # The COMMIT after the failed statement was not run: the transaction was rolled
    # back whole (the row, its commit and what was recorded).
    assert sent[-1][1] == TransactionStatus.INERROR
    monkeypatch.undo()
    found = await get_agent(databases.manage)(scopes=scope, agent_id="a")
    assert found is not None
    assert found.name == "A"
    assert await _messages(databases, scope) == before
    await _clean(databases, scope)
    # The connection serves the next write.
    await update_agent(databases.manage)(scopes=scope, agent_id="a", data={"name": "C"})
    assert (await _messages(databases, scope))[0] == "Update agent a"
    await _clean(databases, scope)


Trips = list[list[str]]


def _trips(monkeypatch: pytest.MonkeyPatch) -> Trips:
    """The statements of each call to the data layer's statement runners, in order:
    on PostgreSQL each call is one round trip."""
    trips: Trips = []
    run, run_many, run_batch = prepared.run, prepared.run_many, prepared.run_batch

    async def run_spy(conn: Any, statement: prepared.Prepared, *args: Any, **kw: Any) -> Any:
        trips.append([statement.sql])
        return await run(conn, statement, *args, **kw)

    async def run_many_spy(conn: Any, work: Any) -> Any:
        trips.append([p.sql for p, _ in work])
        return await run_many(conn, work)

    async def run_batch_spy(conn: Any, batch: prepared.Batch) -> None:
        trips.append([p.sql for p, values in batch if values])
        await run_batch(conn, batch)

    for module in (prepared, doors, crud, commit_module):
        for name, spy in (("run", run_spy), ("run_many", run_many_spy)):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, spy)
    monkeypatch.setattr(prepared, "run_batch", run_batch_spy)
    return trips


# The statement each single-row write starts with.
_WRITTEN = {"create": "INSERT INTO agents", "update": "UPDATE agents", "put": "INSERT INTO agents"}


@pytest.mark.parametrize("operation", sorted(_WRITTEN))
async def test_on_postgresql_a_single_row_write_is_two_round_trips(
    databases: TestDatabases, ids: Ids, operation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if databases.manage.backend != "postgresql":
        pytest.skip("PostgreSQL's round trips")
    scope = await _ready_for(databases, ids, operation)
    trips = _trips(monkeypatch)
    await _one_row_write(databases, scope, operation)
    monkeypatch.undo()
    written, message = _WRITTEN[operation], _ONE_ROW_MESSAGES[operation]
    # The write with the commit's first reads (the branch locked, the row as recorded,
    # the look for what else was), then the commit with the transaction's COMMIT.
    assert len(trips) == 2, trips
    first, second = trips
    assert first[0].startswith(written)
    assert "vc_branches" in first[1]
    assert "FOR UPDATE" in first[1]
    assert "current_setting" in first[-1]
    assert "INSERT INTO vc_commits" in second[0]
    assert second[-1] == "COMMIT"
    assert (await _messages(databases, scope))[0] == message
    found = await get_agent(databases.manage)(scopes=scope, agent_id="a")
    assert found is not None
    assert found.name == "B"
    await _clean(databases, scope)


async def test_a_write_after_the_one_that_read_ahead_is_committed_too(
    databases: TestDatabases, ids: Ids
) -> None:
    # The commit's reads made with a write are dropped when another write follows it
    # in the transaction (not through the public functions, which end with it).
    scope = await _ready_for(databases, ids, "update")
    await create_agent(databases.manage)(scopes=scope, data={"id": "b", "name": "B"})
    async with writing(databases.manage, scope) as access:
        key = AGENTS.key(access.target, {"agent_id": "a"})
        await AGENTS.update_row(access, key, {"name": "A2"}, last=True)
        other = AGENTS.key(access.target, {"agent_id": "b"})
        await AGENTS.update_row(access, other, {"name": "B2"})
    for agent_id, name in (("a", "A2"), ("b", "B2")):
        found = await get_agent(databases.manage)(scopes=scope, agent_id=agent_id)
        assert found is not None
        assert found.name == name
    changed = await diff(databases.manage)(scopes=scope, from_ref="main~1")
    assert {row.row_key for row in changed.rows} == {"a", "b"}
    await _clean(databases, scope)


async def test_a_whole_document_is_one_commit_and_an_unchanged_one_none(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = ProjectScope(ids.tenant, ids.project)
    put = put_full_project(databases.manage, databases.runtime)
    await put(scopes=scope, document=realistic_project(ids.project))
    assert await _messages(databases, scope) == [f"Create project {ids.project}"]
    await _clean(databases, scope)
    document = await get_full_project(databases.manage)(scopes=scope)
    assert document is not None
    await put(scopes=scope, document=document)
    assert len(await _messages(databases, scope)) == 1
    document["agents"]["triage"]["prompt"] = "Changed."
    await put(scopes=scope, document=document)
    assert await _messages(databases, scope) == [
        f"Put project {ids.project}",
        f"Create project {ids.project}",
    ]
    await _clean(databases, scope)


async def test_deleting_a_project_forgets_its_history(databases: TestDatabases, ids: Ids) -> None:
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    scope = ProjectScope(ids.tenant, ids.project)
    await create_agent(databases.manage)(scopes=scope, data={"id": "a", "name": "A"})
    await delete_project(databases.manage, databases.runtime)(scopes=scope)
    async with databases.manage.read() as conn:
        for table in VERSIONING_TABLES:
            stmt = (
                select(func.count())
                .select_from(table)
                .where(table.c.tenant_id == ids.tenant, table.c.project_id == ids.project)
            )
            assert (await conn.execute(stmt)).scalar_one() == 0, table.name
