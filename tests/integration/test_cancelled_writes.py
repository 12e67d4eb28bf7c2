"""A manage write whose task is cancelled mid-statement (a timeout around the call, a
server cancelling a request) leaves nothing behind: none of its rows, no commit, and no
lock that would hold the next writer back."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from agentfold_core.data_access.doors import transaction
from agentfold_core.data_access.manage.agents import create_agent, get_agent
from agentfold_core.data_access.project_lifecycle import create_project
from agentfold_core.scopes import ProjectScope, TenantScope
from agentfold_core.versioning.operations import log, status
from tests.conftest import Ids
from tests.support.databases import TestDatabases

# Long enough to be cancelled mid-way: about a second on SQLite (which finishes it on
# the driver's thread, the ROLLBACK queued behind it); PostgreSQL is asked to cancel it.
_SLOW = {
    "sqlite": text(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000) "
        "SELECT count(*) FROM c"
    ),
    "postgresql": text("SELECT pg_sleep(60)"),
}


async def test_a_cancelled_write_leaves_nothing_and_holds_no_lock(
    databases: TestDatabases, ids: Ids
) -> None:
    manage = databases.manage
    await create_project(manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    scope = ProjectScope(ids.tenant, ids.project)
    before = (await log(manage)(scopes=scope)).data
    started = asyncio.Event()

    async def write() -> None:
        async with transaction(manage, message="never") as unit:
            await create_agent(unit)(scopes=scope, data={"id": "a", "name": "Lost"})
            started.set()
            await unit.conn.execute(_SLOW[manage.backend])

    task = asyncio.create_task(write())
    async with asyncio.timeout(30):
        await started.wait()
    await asyncio.sleep(0.2)  # the slow statement is under way
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(30):
            await task
    # The same row again, at once: no lock of the cancelled write is left (the old
    # SQLite connection kept the write lock; this waited out its busy timeout and failed).
    async with asyncio.timeout(20):
        made = await create_agent(manage)(scopes=scope, data={"id": "a", "name": "Kept"})
    assert made.name == "Kept"
    found = await get_agent(manage)(scopes=scope, agent_id="a")
    assert found is not None
    assert found.name == "Kept"
    after = (await log(manage)(scopes=scope)).data
    assert [c.message for c in after[: len(after) - len(before)]] == ["Create agent a"]
    assert (await status(manage)(scopes=scope)).clean
