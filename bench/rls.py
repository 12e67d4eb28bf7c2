"""The cost of row-level security on PostgreSQL: the same reads and writes with it on
and off, in the same run, interleaved.

- ``off``: a superuser connection with ``row_security=False``: no setting is sent and
  no policy is evaluated (agentfold before row-level security);
- ``on``: the application role (neither owner nor superuser), every statement carrying
  its tenant (``db.row_scope``) and every row checked by the tenant policy.

Operations: get an agent by id (a plain read: one pipelined round trip), a list page
(count and rows), the same get inside a held session (the request's connection),
and create an agent (a write transaction: BEGIN, settings and the first statement
in one round trip). Prints JSON: median microseconds per operation and the ratio
on / off per operation.

    uv run python bench/rls.py [--iterations 400] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agentfold_core.data_access.doors import session
from agentfold_core.data_access.manage.agents import create_agent, get_agent, list_agents
from agentfold_core.data_access.project_lifecycle import create_project
from agentfold_core.db.engine import Database
from agentfold_core.scopes import ProjectScope, TenantScope
from scratch import Scratch, postgres_app_role_scratch

TENANT, PROJECT = "bench", "support"
Timer = Callable[[], Awaitable[Any]]


async def _median_us(fn: Timer, iterations: int) -> float:
    samples = []
    for _ in range(iterations):
        start = time.perf_counter_ns()
        await fn()
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1000


async def _compare(timers: dict[str, Timer], iterations: int) -> dict[str, float]:
    # Warm up both, then alternate rounds so drift hits every side equally.
    for _ in range(20):
        for timer in timers.values():
            await timer()
    samples: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(5):
        for name, timer in timers.items():
            samples[name].append(await _median_us(timer, iterations // 5))
    return {name: round(statistics.median(values), 1) for name, values in samples.items()}


def _operations(manage: Database, label: str) -> dict[str, Timer]:
    scope = ProjectScope(TENANT, PROJECT)
    counter = itertools.count()
    get = get_agent(manage)
    page = list_agents(manage)
    create = create_agent(manage)

    async def in_session() -> Any:
        async with session(manage) as unit:
            return await get_agent(unit)(scopes=scope, agent_id="agent-1")

    return {
        "get_agent": lambda: get(scopes=scope, agent_id="agent-1"),
        "list_agents": lambda: page(scopes=scope, limit=20),
        "session_get_agent": in_session,
        "create_agent": lambda: create(
            scopes=scope, data={"id": f"{label}-{next(counter)}", "name": "N"}
        ),
    }


async def _bench(dbs: Scratch, iterations: int) -> dict[str, Any]:
    await create_project(dbs.manage, dbs.runtime)(
        scopes=TenantScope(TENANT), data={"id": PROJECT, "name": "Support"}
    )
    for n in range(50):
        await create_agent(dbs.manage)(
            scopes=ProjectScope(TENANT, PROJECT), data={"id": f"agent-{n}", "name": f"A{n}"}
        )
    on_ops = _operations(dbs.manage, "on")
    off_ops = _operations(dbs.baseline, "off")
    report: dict[str, Any] = {}
    for name in on_ops:
        medians = await _compare({"off": off_ops[name], "on": on_ops[name]}, iterations)
        report[name] = {**medians, "on/off": round(medians["on"] / medians["off"], 3)}
    return report


async def main() -> None:
    """Parse arguments, run the comparison, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=400)
    parser.add_argument("--postgres", default=os.environ.get("AGENTFOLD_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    if not args.postgres:
        parser.error("row-level security is PostgreSQL's: pass --postgres URL")
    async with postgres_app_role_scratch(args.postgres) as dbs:
        report = {"postgresql": await _bench(dbs, args.iterations)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
