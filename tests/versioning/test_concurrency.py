"""Concurrent writers: commits on one branch serialise and lose nothing; commits on two
branches of one project proceed in parallel (PostgreSQL); no commit ever holds another
writer's rows.

Writers are asyncio tasks on separate ``Database`` objects (separate pools, so separate
connections and transactions in the database), and separate processes."""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import textwrap
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from agentfold_core.data_access.manage.agents import create_agent, get_agent
from agentfold_core.data_access.project_lifecycle import create_project
from agentfold_core.db.engine import Database, create_database
from agentfold_core.scopes import ProjectScope, TenantScope
from agentfold_core.versioning.branches import create_branch
from agentfold_core.versioning.commit import Branch, lock_branch
from agentfold_core.versioning.history import count_commits
from agentfold_core.versioning.operations import CommitInfo, log, status
from agentfold_core.versioning.tables import changes
from tests.conftest import Ids
from tests.support.databases import TestDatabases

WRITES = 8


async def _project(databases: TestDatabases, ids: Ids) -> ProjectScope:
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    return ProjectScope(ids.tenant, ids.project)


@asynccontextmanager
async def _pools(databases: TestDatabases, count: int) -> AsyncIterator[list[Database]]:
    pools = [create_database(databases.manage_url, "manage") for _ in range(count)]
    try:
        yield pools
    finally:
        for pool in pools:
            await pool.dispose()


async def _write_agents(manage: Database, scope: ProjectScope, agent_ids: Sequence[str]) -> None:
    for agent_id in agent_ids:
        await create_agent(manage)(scopes=scope, data={"id": agent_id, "name": agent_id})


async def _history(databases: TestDatabases, scope: ProjectScope) -> list[CommitInfo]:
    return (await log(databases.manage)(scopes=scope, limit=500)).data


async def _changes_by_commit(
    databases: TestDatabases, ids: Ids
) -> dict[str, list[tuple[str, str]]]:
    async with databases.manage.read() as conn:
        rows = await conn.execute(
            select(changes.c.commit_id, changes.c.table_name, changes.c.row_key).where(
                changes.c.tenant_id == ids.tenant, changes.c.project_id == ids.project
            )
        )
        found: dict[str, list[tuple[str, str]]] = {}
        for commit_id, table, row_key in rows.all():
            found.setdefault(str(commit_id), []).append((str(table), str(row_key)))
    return found


async def _check_branch(
    databases: TestDatabases,
    ids: Ids,
    scope: ProjectScope,
    start: list[CommitInfo],
    written: set[str],
) -> None:
    """Every agent in ``written`` exists; the branch is clean; its history is ``start``
    plus one linear commit per agent, each holding exactly that agent's row."""
    for agent_id in written:
        assert await get_agent(databases.manage)(scopes=scope, agent_id=agent_id) is not None
    found = await status(databases.manage)(scopes=scope)
    assert found.clean, found.changes
    history = await _history(databases, scope)
    assert len(history) == len(start) + len(written)
    assert history[len(written) :] == start
    new = history[: len(written)]
    assert found.head == history[0].id
    for newer, older in itertools.pairwise(history):
        assert newer.parent_id == older.id
        assert newer.merge_parent_id is None
    by_commit = await _changes_by_commit(databases, ids)
    seen = []
    for commit in new:
        [(table, row_key)] = by_commit[commit.id]
        assert table == "agents"
        assert commit.message == f"Create agent {row_key}"
        seen.append(row_key)
    assert sorted(seen) == sorted(written)


async def test_two_writers_on_one_branch_lose_nothing(
    databases: TestDatabases, ids: Ids, request: pytest.FixtureRequest
) -> None:
    scope = await _project(databases, ids)
    start = await _history(databases, scope)
    assert len(start) == 1
    names = {n: [f"w{n}-{i}" for i in range(WRITES)] for n in range(2)}
    async with _pools(databases, 2) as pools:
        await asyncio.gather(
            *(_write_agents(pool, scope, names[n]) for n, pool in enumerate(pools))
        )
    written = set(names[0]) | set(names[1])
    await _check_branch(databases, ids, scope, start, written)
    async with databases.manage.read() as conn:
        assert await count_commits(conn, ids.tenant, ids.project) == 2 * WRITES + 1


async def test_two_writers_on_two_branches_lose_nothing(
    databases: TestDatabases, ids: Ids, request: pytest.FixtureRequest
) -> None:
    main = await _project(databases, ids)
    await create_agent(databases.manage)(scopes=main, data={"id": "shared", "name": "S"})
    for name in ("left", "right"):
        await create_branch(databases.manage)(scopes=main, name=name)
    scopes = [main.at("left"), main.at("right")]
    starts = [await _history(databases, s) for s in scopes]
    main_start = await _history(databases, main)
    names = {n: [f"{scopes[n].ref}-{i}" for i in range(WRITES)] for n in range(2)}
    async with _pools(databases, 4) as pools:
        # Two writers per branch, all four at once.
        await asyncio.gather(
            *(
                _write_agents(pools[2 * n + half], scopes[n], names[n][half::2])
                for n in range(2)
                for half in range(2)
            )
        )
    for n, scope in enumerate(scopes):
        await _check_branch(databases, ids, scope, starts[n], set(names[n]))
        other = names[1 - n][0]
        assert await get_agent(databases.manage)(scopes=scope, agent_id=other) is None
    assert await _history(databases, main) == main_start
    async with databases.manage.read() as conn:
        assert await count_commits(conn, ids.tenant, ids.project) == len(main_start) + 2 * WRITES


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_held_branch_lock_blocks_its_branch_only(
    databases: TestDatabases, ids: Ids
) -> None:
    """While a transaction holds branch ``left``'s commit lock, a write on ``right``
    commits at once and a write on ``left`` waits until the lock is released."""
    main = await _project(databases, ids)
    for name in ("left", "right"):
        await create_branch(databases.manage)(scopes=main, name=name)
    left, right = main.at("left"), main.at("right")
    async with _pools(databases, 2) as (holder, writer):
        release = asyncio.Event()
        locked = asyncio.Event()

        async def hold() -> None:
            async with holder.write() as conn:
                assert await lock_branch(conn, Branch(ids.tenant, ids.project, "left")) is not None
                locked.set()
                await release.wait()

        holding = asyncio.create_task(hold())
        await locked.wait()
        await asyncio.wait_for(
            create_agent(writer)(scopes=right, data={"id": "r", "name": "R"}), timeout=10
        )
        blocked = asyncio.ensure_future(
            create_agent(writer)(scopes=left, data={"id": "l", "name": "L"})
        )
        await asyncio.sleep(0.5)
        assert not blocked.done()
        release.set()
        await holding
        await asyncio.wait_for(blocked, timeout=10)
    for scope, agent_id in ((left, "l"), (right, "r")):
        assert await get_agent(databases.manage)(scopes=scope, agent_id=agent_id) is not None
        assert (await status(databases.manage)(scopes=scope)).clean


_WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from agentfold_core.data_access.manage.agents import create_agent
    from agentfold_core.db.engine import create_database
    from agentfold_core.scopes import ProjectScope

    async def main(url, tenant, project, branch, names):
        manage = create_database(url, "manage")
        scope = ProjectScope(tenant, project, ref=branch)
        try:
            for name in names:
                await create_agent(manage)(scopes=scope, data={"id": name, "name": name})
        finally:
            await manage.dispose()

    url, tenant, project, branch, *names = sys.argv[1:]
    asyncio.run(main(url, tenant, project, branch, names))
    """
)


async def _run_writers(
    databases: TestDatabases, ids: Ids, jobs: Sequence[tuple[str, list[str]]], cwd: Path
) -> None:
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _WRITER,
            databases.manage_url,
            ids.tenant,
            ids.project,
            branch,
            *names,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(os.environ),
            cwd=cwd,
        )
        for branch, names in jobs
    ]
    results = [await asyncio.wait_for(p.communicate(), timeout=120) for p in processes]
    codes = [p.returncode for p in processes]
    assert codes == [0] * len(jobs), [err.decode() for _, err in results]


async def test_two_processes_on_one_branch_and_on_two_branches(
    databases: TestDatabases, ids: Ids, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    main = await _project(databases, ids)
    await create_branch(databases.manage)(scopes=main, name="other")
    other = main.at("other")
    starts = [await _history(databases, main), await _history(databases, other)]
    jobs = [
        ("main", [f"pa-{i}" for i in range(WRITES)]),
        ("main", [f"pb-{i}" for i in range(WRITES)]),
        ("other", [f"po-{i}" for i in range(WRITES)]),
    ]
    await _run_writers(databases, ids, jobs, tmp_path)
    await _check_branch(databases, ids, main, starts[0], set(jobs[0][1]) | set(jobs[1][1]))
    await _check_branch(databases, ids, other, starts[1], set(jobs[2][1]))
