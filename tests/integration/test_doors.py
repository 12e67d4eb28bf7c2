"""The read and write doors: units of work, listeners, deferred checks, tenants."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from sqlalchemy.exc import DBAPIError

from agentfold_core.data_access.doors import (
    Unit,
    add_listener,
    remove_listener,
    session,
    transaction,
    writing,
)
from agentfold_core.data_access.manage.agents import (
    create_agent,
    create_sub_agent,
    get_agent,
    list_agents,
)
from agentfold_core.data_access.project_lifecycle import create_project
from agentfold_core.errors import Conflict, InvalidReference, ReadOnlyRef, ValidationFailed
from agentfold_core.scopes import AgentScope, ProjectScope, TenantScope
from tests.conftest import Ids
from tests.support.databases import TestDatabases


async def _project(databases: TestDatabases, ids: Ids) -> ProjectScope:
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    return ProjectScope(ids.tenant, ids.project)


@dataclass
class Recorder:
    """A door listener that records what it saw and may fail before the commit."""

    fail: bool = False
    seen: list[tuple[str, str | None, str | None, str | None, list[str]]] = field(
        default_factory=list
    )

    async def begin(self, unit: Unit) -> None:
        self.seen.append(("begin", unit.tenant_id, unit.author, unit.message, []))

    async def before_commit(self, unit: Unit) -> None:
        branches = [t.branch for t in unit.targets]
        self.seen.append(("before_commit", unit.tenant_id, unit.author, unit.message, branches))
        # Inside the transaction: what the unit wrote is visible to it.
        assert await get_agent(unit)(scopes=unit.targets[0].scope, agent_id="a") is not None
        if self.fail:
            raise RuntimeError("listener refused the commit")


async def test_listeners_run_inside_every_write_transaction(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await _project(databases, ids)
    recorder = Recorder()
    add_listener(databases.manage, recorder)
    try:
        async with transaction(databases.manage, author="alice", message="Add a") as unit:
            await create_agent(unit)(scopes=scope, data={"id": "a", "name": "A"})
    finally:
        remove_listener(databases.manage, recorder)
    assert recorder.seen == [
        ("begin", ids.tenant, "alice", "Add a", []),
        ("before_commit", ids.tenant, "alice", "Add a", ["main"]),
    ]


async def test_a_failing_before_commit_hook_rolls_everything_back(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await _project(databases, ids)
    recorder = Recorder(fail=True)
    add_listener(databases.manage, recorder)
    try:
        with pytest.raises(RuntimeError, match="refused"):
            await create_agent(databases.manage)(scopes=scope, data={"id": "a", "name": "A"})
    finally:
        remove_listener(databases.manage, recorder)
    assert await get_agent(databases.manage)(scopes=scope, agent_id="a") is None


async def test_a_unit_of_work_never_spans_two_tenants(databases: TestDatabases, ids: Ids) -> None:
    scope = await _project(databases, ids)
    other = ProjectScope(ids.other_tenant, ids.project)

    async def cross_tenant() -> None:
        async with transaction(databases.manage) as unit:
            await create_agent(unit)(scopes=scope, data={"id": "a", "name": "A"})
            await get_agent(unit)(scopes=other, agent_id="a")

    with pytest.raises(ValidationFailed) as caught:
        await cross_tenant()
    assert caught.value.errors[0]["type"] == "tenant_mismatch"
    # The whole unit rolled back.
    assert await get_agent(databases.manage)(scopes=scope, agent_id="a") is None


async def test_soft_references_are_checked_at_the_end_of_the_unit(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await _project(databases, ids)
    # Alone, an agent naming a sub-agent that does not exist is refused...
    with pytest.raises(InvalidReference) as caught:
        await create_agent(databases.manage)(
            scopes=scope, data={"id": "a", "name": "A", "default_sub_agent_id": "s"}
        )
    assert caught.value.context["key"] == {"agent_id": "a", "default_sub_agent_id": "s"}
    # ...but within one unit the sub-agent may follow (a deferred constraint).
    async with transaction(databases.manage) as unit:
        await create_agent(unit)(
            scopes=scope, data={"id": "a", "name": "A", "default_sub_agent_id": "s"}
        )
        await create_sub_agent(unit)(
            scopes=AgentScope(ids.tenant, ids.project, "a"), data={"id": "s", "name": "S"}
        )
    agent = await get_agent(databases.manage)(scopes=scope, agent_id="a")
    assert agent is not None
    assert agent.default_sub_agent_id == "s"


async def test_a_session_reads_and_writes_on_one_connection(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await _project(databases, ids)
    async with session(databases.manage) as unit:
        assert (await list_agents(unit)(scopes=scope)).pagination.total == 0
        await create_agent(unit)(scopes=scope, data={"id": "a", "name": "A"})
        assert (await list_agents(unit)(scopes=scope)).pagination.total == 1
        async with transaction(unit, message="two more") as writing_unit:
            await create_agent(writing_unit)(scopes=scope, data={"id": "b", "name": "B"})
            await create_agent(writing_unit)(scopes=scope, data={"id": "c", "name": "C"})
        assert (await list_agents(unit)(scopes=scope)).pagination.total == 3
        # A write the database refuses rolls back only itself; the session goes on.
        with pytest.raises(Conflict):
            await create_agent(unit)(scopes=scope, data={"id": "a", "name": "Again"})
        assert (await list_agents(unit)(scopes=scope)).pagination.total == 3
    assert (await list_agents(databases.manage)(scopes=scope)).pagination.total == 3


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_lost_connection_is_reported_and_replaced(
    backend: str, databases: TestDatabases, ids: Ids
) -> None:
    """The fast statement path wraps driver errors like SQLAlchemy does and invalidates
    a dead connection, so the pool hands out a live one next time (only a server
    connection can be lost)."""
    scope = await _project(databases, ids)
    await create_agent(databases.manage)(scopes=scope, data={"id": "a", "name": "A"})
    async with session(databases.manage) as unit:
        assert await get_agent(unit)(scopes=scope, agent_id="a") is not None
        pid = (await unit.conn.exec_driver_sql("SELECT pg_backend_pid()")).scalar_one()
        async with session(databases.manage) as killer:
            await killer.conn.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        with pytest.raises(DBAPIError) as caught:
            await get_agent(unit)(scopes=scope, agent_id="a")
        assert caught.value.connection_invalidated
    assert await get_agent(databases.manage)(scopes=scope, agent_id="a") is not None


async def test_a_write_refused_at_the_door_gives_everything_back(
    databases: TestDatabases, ids: Ids
) -> None:
    """A write door that fails while it opens (a ref that names a commit) has already
    begun its transaction: it rolls it back and gives back its connection and, on
    SQLite, the writer's turn, every time."""
    scope = await _project(databases, ids)
    manage = databases.manage
    await create_agent(manage)(scopes=scope, data={"id": "a", "name": "A"})
    idle = len(manage._kept._idle)
    for _ in range(3):
        with pytest.raises(ReadOnlyRef):
            async with writing(manage, scope.at("main~1")):
                pass
        assert len(manage._kept._idle) == idle
        if manage.turns is not None:
            assert not manage.turns._lock.locked()
        with pytest.raises(ReadOnlyRef):
            async with transaction(manage) as unit, writing(unit, scope.at("main~1")):
                pass
        assert len(manage._kept._idle) == idle
        if manage.turns is not None:
            assert not manage.turns._lock.locked()
    # Nothing of the refused writes stayed; the next write goes through.
    await create_agent(manage)(scopes=scope, data={"id": "b", "name": "B"})
    assert (await list_agents(manage)(scopes=scope)).pagination.total == 2
