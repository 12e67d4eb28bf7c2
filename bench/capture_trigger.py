"""What the change-capture triggers alone cost one single-row UPDATE.

On scratch manage databases at head (a project with one agent), the same
``UPDATE agents SET prompt = ...`` of one row is timed as a statement on the bare
driver, each inside its own transaction that is then rolled back (so every
iteration starts with nothing recorded, as after a commit): with the capture
triggers installed, and with them dropped (``CaptureSpec.drop_sql``), rounds
interleaved (the triggers are dropped and re-created between cases). No commit is
made: this isolates the trigger from the versioning commit that ``versioning.py``
measures.

    uv run python bench/capture_trigger.py --rounds 5 --iterations 300 \\
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Prints JSON: per backend, the median µs per UPDATE with and without capture, and
their ratio (captured / plain).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import time
from collections.abc import Callable
from typing import Any

import psycopg

from agentfold_core.data_access.manage.agents import create_agent
from agentfold_core.data_access.project_lifecycle import create_project
from agentfold_core.db.engine import Database
from agentfold_core.migrations import upgrade
from agentfold_core.scopes import ProjectScope, TenantScope
from agentfold_core.versioning.capture import CaptureSpec
from agentfold_core.versioning.rows import versioned_by_name
from scratch import Scratch, postgres_scratch, sqlite_scratch

TENANT, PROJECT, AGENT = "bench", "capture", "triage"


async def _prepare(scratch: Scratch) -> None:
    await upgrade(scratch.manage)
    await upgrade(scratch.runtime)
    await create_project(scratch.manage, scratch.runtime)(
        scopes=TenantScope(TENANT), data={"id": PROJECT, "name": "Capture"}
    )
    await create_agent(scratch.manage)(
        scopes=ProjectScope(TENANT, PROJECT), data={"id": AGENT, "name": "T", "prompt": "p"}
    )


def _measure(
    update: Callable[[str], object],
    rollback: Callable[[], object],
    run_sql: Callable[[str], object],
    dialect: str,
    rounds: int,
    iterations: int,
) -> dict[str, Any]:
    spec = CaptureSpec.of(versioned_by_name()["agents"])

    def timed() -> float:
        times = []
        for i in range(iterations):
            started = time.perf_counter()
            update(f"prompt {i}")
            times.append((time.perf_counter() - started) * 1e6)
            rollback()
        return statistics.median(times)

    captured, plain = [], []
    for _ in range(rounds):
        captured.append(timed())
        for sql in spec.drop_sql(dialect):
            run_sql(sql)
        plain.append(timed())
        for sql in spec.create_sql(dialect):
            run_sql(sql)
    with_us, without_us = statistics.median(captured), statistics.median(plain)
    return {
        "captured_us": round(with_us, 1),
        "plain_us": round(without_us, 1),
        "ratio": round(with_us / without_us, 3),
        "trigger_us": round(with_us - without_us, 1),
    }


_UPDATE = (
    "UPDATE agents SET prompt = {p} WHERE tenant_id = {p} AND project_id = {p} "
    "AND branch = 'main' AND id = {p}"
)


def _sqlite(path: str, rounds: int, iterations: int) -> dict[str, Any]:
    conn = sqlite3.connect(path, isolation_level=None)
    sql = _UPDATE.format(p="?")
    try:

        def update(prompt: str) -> None:
            conn.execute("BEGIN")
            conn.execute(sql, (prompt, TENANT, PROJECT, AGENT))

        return _measure(
            update,
            lambda: conn.execute("ROLLBACK"),
            conn.executescript,
            "sqlite",
            rounds,
            iterations,
        )
    finally:
        conn.close()


def _postgres(conninfo: str, rounds: int, iterations: int) -> dict[str, Any]:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        sql = _UPDATE.format(p="%s")

        def update(prompt: str) -> None:
            conn.execute("BEGIN")
            conn.execute(sql, (prompt, TENANT, PROJECT, AGENT), prepare=True)

        def run_sql(statement: str) -> None:
            conn.execute(statement.encode())

        return _measure(
            update, lambda: conn.execute("ROLLBACK"), run_sql, "postgresql", rounds, iterations
        )


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"rounds": args.rounds, "iterations": args.iterations}
    async with sqlite_scratch() as scratch:
        await _prepare(scratch)
        await _dispose(scratch.manage, scratch.runtime)
        out["sqlite"] = _sqlite(scratch.manage_raw, args.rounds, args.iterations)
    if args.postgres:
        async with postgres_scratch(args.postgres, "capture") as scratch:
            await _prepare(scratch)
            await _dispose(scratch.manage, scratch.runtime)
            out["postgresql"] = _postgres(scratch.manage_raw, args.rounds, args.iterations)
    return out


async def _dispose(*databases: Database) -> None:
    # Release pooled connections: the timed side owns the database alone.
    for database in databases:
        await database.dispose()


def main() -> None:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (optional)")
    print(json.dumps(asyncio.run(_run(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
