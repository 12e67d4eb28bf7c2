"""Data-access overhead: agentfold's curried functions vs hand-written SQL.

For each backend, times get-by-id, a paginated list, create, and get_full_project on
a realistic project, through agentfold and through hand-written SQL on the same
driver, in the same run, interleaved. Two hand-written baselines:

- ``pooled``: the SQL text sent with ``exec_driver_sql`` on a connection checked out
  of the same SQLAlchemy engine and pool, as a service writing SQL by hand would;
- ``raw``: the bare driver (aiosqlite / psycopg) on one connection held open for the
  whole run, with no pool at all: a lower bound no pooled service reaches.

PostgreSQL runs twice: ``postgresql`` as the server's own user (a superuser, which
row-level security does not restrict: no setting is sent), and
``postgresql_row_security`` as production runs it, an application role that every
policy applies to (each statement carries its tenant), on databases its owner
migrated. The hand-written baselines run as the superuser in both.

Prints JSON: median microseconds per operation and the ratios agentfold / baseline.

    uv run python bench/data_access.py [--iterations 400] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite
import psycopg
from psycopg.rows import dict_row

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.project_document import realistic_project

from agentfold_core.data_access.documents import get_full_project, put_full_project
from agentfold_core.data_access.documents.tree import PROJECT_NODE
from agentfold_core.data_access.doors import session
from agentfold_core.data_access.manage.agents import (
    create_agent,
    get_agent,
    list_agents,
)
from agentfold_core.data_access.project_lifecycle import create_project
from agentfold_core.db.engine import Database
from agentfold_core.migrations import upgrade
from agentfold_core.scopes import ProjectScope, TenantScope
from scratch import Scratch, analyze, postgres_app_role_scratch, postgres_scratch, sqlite_scratch

TENANT, PROJECT, BULK = "bench", "support", "bulk"
HAND_TENANT = "bench-hand"
Timer = Callable[[], Awaitable[Any]]


async def _median_us(fn: Timer, iterations: int) -> float:
    samples = []
    for _ in range(iterations):
        start = time.perf_counter_ns()
        await fn()
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1000


async def _compare(timers: dict[str, Timer], iterations: int) -> dict[str, float]:
    # Warm up all, then alternate rounds so drift hits every side equally.
    for _ in range(20):
        for timer in timers.values():
            await timer()
    samples: dict[str, list[float]] = {name: [] for name in timers}
    rounds = 5
    for _ in range(rounds):
        for name, timer in timers.items():
            samples[name].append(await _median_us(timer, iterations // rounds))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    ours = medians.pop("agentfold")
    held = medians.pop("agentfold_held", None)
    result = {"agentfold_us": round(ours, 1)}
    if held is not None:
        result["agentfold_held_us"] = round(held, 1)
    for name, value in medians.items():
        result[f"{name}_us"] = round(value, 1)
        result[f"ratio_vs_{name}"] = round(ours / value, 2)
        if held is not None:
            # A held unit of work against the same baseline (``raw`` holds one too).
            result[f"held_ratio_vs_{name}"] = round(held / value, 2)
    return result


class Pooled:
    """Hand-written SQL through the same engine and pool as agentfold."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.qmark = db.backend == "sqlite"

    def _sql(self, sql: str) -> str:
        return sql.replace("%s", "?") if self.qmark else sql

    async def fetch_one(self, sql: str, params: tuple[Any, ...]) -> dict[str, Any] | None:
        async with self.db.read() as conn:
            row = (await conn.exec_driver_sql(self._sql(sql), params)).mappings().first()
        return None if row is None else dict(row)

    async def fetch_all(self, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = (await conn.exec_driver_sql(self._sql(sql), params)).mappings().all()
        return [dict(r) for r in rows]

    async def fetch_many(self, queries: list[tuple[str, tuple[Any, ...]]]) -> list[Any]:
        async with self.db.read(snapshot=True) as conn:
            return [
                [dict(r) for r in (await conn.exec_driver_sql(self._sql(q), p)).mappings()]
                for q, p in queries
            ]

    async def write(self, sql: str, params: tuple[Any, ...]) -> None:
        async with self.db.write() as conn:
            await conn.exec_driver_sql(self._sql(sql), params)


class RawSqlite:
    """Hand-written SQL over one aiosqlite connection."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.conn: aiosqlite.Connection

    async def open(self) -> None:
        self.conn = await aiosqlite.connect(self.path, isolation_level=None)
        self.conn.row_factory = aiosqlite.Row
        await self.conn.execute("PRAGMA foreign_keys=ON")

    async def fetch_one(self, sql: str, params: tuple[Any, ...]) -> dict[str, Any] | None:
        async with self.conn.execute(sql.replace("%s", "?"), params) as cur:
            row = await cur.fetchone()
        return None if row is None else dict(row)

    async def fetch_all(self, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        async with self.conn.execute(sql.replace("%s", "?"), params) as cur:
            return [dict(r) for r in await cur.fetchall()]

    async def fetch_many(self, queries: list[tuple[str, tuple[Any, ...]]]) -> list[Any]:
        return [await self.fetch_all(q, p) for q, p in queries]

    async def write(self, sql: str, params: tuple[Any, ...]) -> None:
        await self.conn.execute("BEGIN IMMEDIATE")
        await self.conn.execute(sql.replace("%s", "?"), params)
        await self.conn.commit()

    async def close(self) -> None:
        await self.conn.close()

    @staticmethod
    def now() -> Any:
        """A timestamp as SQLite stores it."""
        return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class RawPostgres:
    """Hand-written SQL over one psycopg async connection."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.conn: psycopg.AsyncConnection[dict[str, Any]]

    async def open(self) -> None:
        self.conn = await psycopg.AsyncConnection.connect(
            self.conninfo, autocommit=True, row_factory=dict_row
        )

    async def fetch_one(self, sql: str, params: tuple[Any, ...]) -> dict[str, Any] | None:
        cur = await self.conn.execute(sql, params)
        return await cur.fetchone()

    async def fetch_all(self, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        cur = await self.conn.execute(sql, params)
        return await cur.fetchall()

    async def fetch_many(self, queries: list[tuple[str, tuple[Any, ...]]]) -> list[Any]:
        async with self.conn.transaction():
            return [await self.fetch_all(q, p) for q, p in queries]

    async def write(self, sql: str, params: tuple[Any, ...]) -> None:
        async with self.conn.transaction():
            await self.conn.execute(sql, params)

    async def close(self) -> None:
        await self.conn.close()

    @staticmethod
    def now() -> Any:
        """A timestamp as psycopg binds it."""
        return datetime.now(UTC)


async def _build_schema(db: Database) -> None:
    await upgrade(db)


async def _bench_backend(
    dbs: Scratch, raw: RawSqlite | RawPostgres, iterations: int
) -> dict[str, Any]:
    manage, runtime = dbs.manage, dbs.runtime
    if dbs.manage_unrestricted is None:
        # (An application role's databases come migrated by their owner.)
        await _build_schema(manage)
        await _build_schema(runtime)
    # The realistic project is read whole; single-row operations use a second project
    # of 100 agents (which grows with the create benchmark).
    full_scope = ProjectScope(TENANT, PROJECT)
    await put_full_project(manage, runtime)(scopes=full_scope, document=realistic_project(PROJECT))
    scope = ProjectScope(TENANT, BULK)
    await create_project(manage, runtime)(
        scopes=TenantScope(TENANT), data={"id": BULK, "name": "Bulk"}
    )
    # Hand-written creates go to a project of another tenant: rows written outside the
    # data layer are captured too, and would otherwise ride along in agentfold's commits.
    await create_project(manage, runtime)(
        scopes=TenantScope(HAND_TENANT), data={"id": BULK, "name": "Bulk"}
    )
    for i in range(100):
        await create_agent(manage)(scopes=scope, data={"id": f"agent-{i:03}", "name": f"A{i}"})
    # As autovacuum would have by now: plans from real statistics (the owner's ANALYZE).
    await analyze(dbs.baseline)
    await raw.open()
    # One held connection, as a service does per request: the fair match for ``raw``.
    held = session(manage)
    unit = await held.__aenter__()
    pooled = Pooled(dbs.baseline)
    sides: dict[str, Any] = {"pooled": pooled, "raw": raw}
    key = (TENANT, BULK, "main")
    full_key = (TENANT, PROJECT, "main")
    results: dict[str, Any] = {}

    get = get_agent(manage)
    get_sql = (
        "SELECT * FROM agents WHERE tenant_id = %s AND project_id = %s AND branch = %s AND id = %s"
    )
    results["get_by_id"] = await _compare(
        {
            "agentfold": lambda: get(scopes=scope, agent_id="agent-042"),
            "agentfold_held": lambda: get_agent(unit)(scopes=scope, agent_id="agent-042"),
            **{
                name: partial(side.fetch_one, get_sql, (*key, "agent-042"))
                for name, side in sides.items()
            },
        },
        iterations,
    )

    page = list_agents(manage)
    where = "tenant_id = %s AND project_id = %s AND branch = %s"
    page_sql = (
        f"SELECT *, count(*) OVER () AS total FROM agents WHERE {where}"
        " ORDER BY created_at DESC, id DESC LIMIT 20 OFFSET 20"
    )
    results["list_page"] = await _compare(
        {
            "agentfold": lambda: page(scopes=scope, page=2, limit=20),
            "agentfold_held": lambda: list_agents(unit)(scopes=scope, page=2, limit=20),
            **{name: partial(side.fetch_all, page_sql, key) for name, side in sides.items()},
        },
        iterations,
    )

    create = create_agent(manage)
    counter = iter(range(10**9))
    insert_sql = (
        "INSERT INTO agents (tenant_id, project_id, branch, id, name, description,"
        " created_at, updated_at, prompt, execution_mode) VALUES"
        " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    )

    async def ours_create() -> Any:
        return await create(
            scopes=scope, data={"id": f"c-{next(counter)}", "name": "New", "prompt": "p"}
        )

    async def ours_create_held() -> Any:
        return await create_agent(unit)(
            scopes=scope, data={"id": f"h-{next(counter)}", "name": "New", "prompt": "p"}
        )

    def hand_create(side: Any) -> Timer:
        async def run() -> None:
            now = raw.now()
            row_id = f"r-{next(counter)}"
            params = (HAND_TENANT, BULK, "main", row_id, "New", None, now, now, "p", "classic")
            await side.write(insert_sql, params)

        return run

    results["create"] = await _compare(
        {
            "agentfold": ours_create,
            "agentfold_held": ours_create_held,
            **{n: hand_create(side) for n, side in sides.items()},
        },
        iterations,
    )

    full = get_full_project(manage)
    tables = [n.entity.table for n in PROJECT_NODE.walk()]
    queries = [
        ("SELECT * FROM projects WHERE tenant_id = %s AND id = %s AND branch = %s", full_key)
    ]
    queries += [
        (
            f"SELECT * FROM {t.name} WHERE tenant_id = %s AND project_id = %s AND branch = %s",
            full_key,
        )
        for t in tables[1:]
    ]
    results["get_full_project"] = await _compare(
        {
            "agentfold": lambda: full(scopes=full_scope),
            **{name: partial(side.fetch_many, queries) for name, side in sides.items()},
        },
        max(iterations // 4, 50),
    )
    await held.__aexit__(None, None, None)
    await raw.close()
    return results


async def main() -> None:
    """Run the benchmark on SQLite and (if reachable) PostgreSQL; print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=400)
    parser.add_argument("--postgres", default=os.environ.get("AGENTFOLD_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    report: dict[str, Any] = {"iterations": args.iterations}

    async with sqlite_scratch() as dbs:
        report["sqlite"] = await _bench_backend(dbs, RawSqlite(dbs.manage_raw), args.iterations)
    if args.postgres:
        async with postgres_scratch(args.postgres, "bench") as dbs:
            report["postgresql"] = await _bench_backend(
                dbs, RawPostgres(dbs.manage_raw), args.iterations
            )
        async with postgres_app_role_scratch(args.postgres) as dbs:
            report["postgresql_row_security"] = await _bench_backend(
                dbs, RawPostgres(dbs.manage_raw), args.iterations
            )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
