"""Scale: cost follows the work, not the size of the project.

Builds the realistic test project (3 agents, 8 sub-agents, every kind of entity) at
1x and at ``--scale`` x (default 100: its agents copied 100 times, each copy with
everything under it; project-level collections shared), imports both, checks the
import, then times in interleaved rounds on each backend:

- ``put_full_project`` of the unchanged large document into the existing, identical
  project; of the large document with one agent's prompt changed (alternating between
  two prompts, so every call changes exactly one row); and a fresh create of the large
  project under a new project id (deleted again outside the timed section);
- ``list_agents`` page 1 of 20 and ``get_agent`` by id on the large and small projects.

Prints JSON: the ratios (each against a baseline measured in the same run, median of
per-round medians), their targets with a pass flag, absolute medians and the row
counts of both projects.

    uv run python bench/scale.py [--rounds 7] [--iterations 200] [--put-iterations 5]
        [--scale 100] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, inspect, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.project_document import realistic_project

from agentfold_core.data_access.documents import get_full_project, put_full_project
from agentfold_core.data_access.doors import reading
from agentfold_core.data_access.manage.agents import get_agent, list_agents
from agentfold_core.data_access.project_lifecycle import delete_project
from agentfold_core.db.engine import Database
from agentfold_core.migrations import upgrade
from agentfold_core.scopes import ProjectScope
from scratch import analyze, postgres_scratch, sqlite_scratch

Document = dict[str, Any]
Measured = Callable[[], Awaitable[float]]  # one call; returns its elapsed µs

TENANT = "bench"
SMALL, LARGE, EDITED = "scale-1x", "scale-large", "scale-large-edit"
GET_AGENT = "triage"  # the agent read by id (one of its copies)
EDIT_AGENT = "followup"  # the agent whose prompt the one-agent change edits
SMALL_PAGE = 3  # agents of the 1x project: one full page of it
PROMPTS = ("Follow up within one day.", "Follow up within two days.")


# --------------------------------------------------------------------------- documents


def scaled_project(project_id: str, copies: int) -> Document:
    """The realistic project with its agents copied ``copies`` times.

    Agent ``triage`` becomes ``triage-0`` .. ``triage-{copies-1}``, each copy with all
    it holds (sub-agents, relations, context configs, function tools, triggers, links).
    Ids inside an agent are scoped by the agent, so they stay as they are; a link to a
    team agent of the project points to the copy of the same index. Project-level
    collections (tools, functions, components, skills, credentials...) are shared.
    """
    document = realistic_project(project_id)
    agents: dict[str, Document] = document["agents"]
    scaled: dict[str, Document] = {}
    for index in range(copies):
        for agent_id, agent in agents.items():
            clone = copy.deepcopy(agent)
            clone["name"] = f"{agent['name']} {index}"
            for sub_agent in clone.get("sub_agents", {}).values():
                for link in sub_agent.get("team_agents", []):
                    if link["target_agent_id"] in agents:
                        link["target_agent_id"] = f"{link['target_agent_id']}-{index}"
            scaled[f"{agent_id}-{index}"] = clone
    document["agents"] = scaled
    return document


def with_id(document: Document, project_id: str) -> Document:
    """``document`` for another project id (a shallow copy)."""
    return {**document, "id": project_id}


def with_agent_prompt(document: Document, agent_id: str, prompt: str) -> Document:
    """``document`` with one agent's prompt replaced (shallow copies along the path)."""
    agents: dict[str, Document] = document["agents"]
    return {**document, "agents": {**agents, agent_id: {**agents[agent_id], "prompt": prompt}}}


def _team_targets(document: Document) -> set[tuple[str, str, str]]:
    return {
        (agent_id, sub_id, link["target_agent_id"])
        for agent_id, agent in document["agents"].items()
        for sub_id, sub in agent.get("sub_agents", {}).items()
        for link in sub.get("team_agents", [])
    }


def check_import(sent: Document, stored: Document | None) -> None:
    """Fail unless ``stored`` (read back) holds the agents, sub-agents and links sent."""
    if stored is None:
        raise SystemExit(f"project {sent['id']!r} was not stored")
    if set(stored["agents"]) != set(sent["agents"]):
        raise SystemExit(f"project {sent['id']!r}: agents differ after import")
    for agent_id, agent in sent["agents"].items():
        back = stored["agents"][agent_id]
        if set(back["sub_agents"]) != set(agent.get("sub_agents", {})):
            raise SystemExit(f"project {sent['id']!r}: sub-agents of {agent_id!r} differ")
        for key in ("default_sub_agent_id", "context_config_id"):
            if back.get(key) != agent.get(key):
                raise SystemExit(f"project {sent['id']!r}: {agent_id}.{key} differs")
    if _team_targets(stored) != _team_targets(sent):
        raise SystemExit(f"project {sent['id']!r}: team-agent links differ after import")


# --------------------------------------------------------------------------- row counts


@dataclass(frozen=True)
class ProjectTable:
    """A manage table holding rows of projects."""

    name: str
    project_column: str
    per_agent: bool  # the agents table, or rows under an agent


def _project_tables(conn: Connection) -> list[ProjectTable]:
    # Reflected, so the count does not depend on how the package declares its tables.
    inspector = inspect(conn)
    tables = []
    for name in sorted(inspector.get_table_names()):
        columns = {column["name"] for column in inspector.get_columns(name)}
        per_agent = name == "agents" or "agent_id" in columns
        if {"tenant_id", "project_id"} <= columns:
            tables.append(ProjectTable(name, "project_id", per_agent))
        elif name == "projects":
            tables.append(ProjectTable(name, "id", per_agent))
    return tables


@dataclass(frozen=True)
class RowCounts:
    """Rows of one project per manage table (tables without rows left out)."""

    per_table: dict[str, int]
    per_agent_tables: frozenset[str]

    @property
    def total(self) -> int:
        """All rows of the project."""
        return sum(self.per_table.values())


async def row_counts(manage: Database, project_id: str) -> RowCounts:
    """Count the project's rows in every manage table."""
    counts: dict[str, int] = {}
    per_agent: set[str] = set()
    async with reading(manage, ProjectScope(TENANT, project_id), snapshot=True) as access:
        conn = access.conn
        for table in await conn.run_sync(_project_tables):
            sql = text(
                f'SELECT count(*) FROM "{table.name}"'  # noqa: S608 - identifiers from the metadata
                f' WHERE tenant_id = :t AND "{table.project_column}" = :p'
            )
            value = int((await conn.execute(sql, {"t": TENANT, "p": project_id})).scalar_one())
            if value:
                counts[table.name] = value
            if table.per_agent:
                per_agent.add(table.name)
    return RowCounts(counts, frozenset(per_agent))


def check_scaled_counts(small: RowCounts, large: RowCounts, scale: int) -> None:
    """Agent-level tables hold ``scale`` times the rows of the small project; the rest the same."""
    expected = {
        table: n * scale if table in small.per_agent_tables else n
        for table, n in small.per_table.items()
    }
    if large.per_table != expected:
        raise SystemExit(f"row counts of the scaled project: {large.per_table} != {expected}")


# --------------------------------------------------------------------------- timing


def timed(call: Callable[[], Awaitable[object]]) -> Measured:
    """A measured case timing every whole call of ``call``."""

    async def run() -> float:
        start = time.perf_counter_ns()
        await call()
        return (time.perf_counter_ns() - start) / 1000

    return run


@dataclass(frozen=True)
class Case:
    """One timed operation and how many calls it gets per round."""

    measured: Measured
    calls: int
    warmup: int
    unit: str  # how the median is printed: "ms" or "us"


async def interleave(cases: dict[str, Case], rounds: int) -> dict[str, float]:
    """Median µs per case: the median of per-round medians, the order rotating per round."""
    per_round: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            case = cases[name]
            samples = [await case.measured() for _ in range(case.calls)]
            per_round[name].append(statistics.median(samples))
    return {name: statistics.median(values) for name, values in per_round.items()}


@dataclass(frozen=True)
class Figure:
    """A ratio of two medians measured in the same run, with its target."""

    name: str
    numerator: str
    denominator: str
    target: float | None  # None: shown for context, no target


# --------------------------------------------------------------------------- one backend


@dataclass(frozen=True)
class Settings:
    """Command-line settings."""

    rounds: int
    iterations: int
    put_iterations: int
    scale: int


@contextmanager
def _step(what: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    print(f"  {what}: {time.perf_counter() - start:.1f} s", file=sys.stderr)


async def bench_backend(
    manage: Database, runtime: Database, settings: Settings
) -> dict[str, object]:
    """Build the projects on one backend, check them, time every case; the results."""
    scale = settings.scale
    large_x = f"{scale}x"
    await upgrade(manage)
    await upgrade(runtime)
    put = put_full_project(manage, runtime)
    read = get_full_project(manage)
    delete = delete_project(manage, runtime)

    small_doc = scaled_project(SMALL, 1)
    large_doc = scaled_project(LARGE, scale)
    edit_docs = [
        with_agent_prompt(with_id(large_doc, EDITED), f"{EDIT_AGENT}-{scale // 2}", prompt)
        for prompt in PROMPTS
    ]
    small_scope, large_scope = ProjectScope(TENANT, SMALL), ProjectScope(TENANT, LARGE)
    edit_scope = ProjectScope(TENANT, EDITED)

    with _step(f"import 1x, {large_x}, {large_x} (edited)"):
        for doc, scope in (
            (small_doc, small_scope),
            (large_doc, large_scope),
            (edit_docs[1], edit_scope),
        ):
            await put(scopes=scope, document=doc)
            check_import(doc, await read(scopes=scope))
        before = await read(scopes=large_scope)
        if (await put(scopes=large_scope, document=large_doc)).changed:
            raise SystemExit("an unchanged put wrote something")
        if await read(scopes=large_scope) != before:
            raise SystemExit("an unchanged put changed the document")
    small_rows = await row_counts(manage, SMALL)
    large_rows = await row_counts(manage, LARGE)
    check_scaled_counts(small_rows, large_rows, scale)
    await analyze(manage)  # planner statistics of the new rows

    fresh_ids = count()

    async def fresh_create() -> float:
        project_id = f"scale-fresh-{next(fresh_ids)}"
        scope = ProjectScope(TENANT, project_id)
        document = with_id(large_doc, project_id)
        start = time.perf_counter_ns()
        await put(scopes=scope, document=document)
        elapsed = (time.perf_counter_ns() - start) / 1000
        await delete(scopes=scope)
        return elapsed

    edits = count()

    async def one_agent_change() -> float:
        document = edit_docs[next(edits) % 2]
        start = time.perf_counter_ns()
        result = await put(scopes=edit_scope, document=document)
        elapsed = (time.perf_counter_ns() - start) / 1000
        if (result.created, result.updated, result.deleted) != ({}, {"agents": 1}, {}):
            raise SystemExit(f"the one-agent change wrote {result}")
        return elapsed

    get, page = get_agent(manage), list_agents(manage)
    small_agent, large_agent = f"{GET_AGENT}-0", f"{GET_AGENT}-{scale // 2}"

    def put_case(measured: Measured) -> Case:
        return Case(measured, settings.put_iterations, warmup=1, unit="ms")

    def read_case(call: Callable[[], Awaitable[object]]) -> Case:
        return Case(timed(call), settings.iterations, warmup=20, unit="us")

    cases = {
        f"create_{large_x}": put_case(fresh_create),
        f"unchanged_put_{large_x}": put_case(
            timed(lambda: put(scopes=large_scope, document=large_doc))
        ),
        f"one_agent_change_{large_x}": put_case(one_agent_change),
        # Pages of equal size (the 1x project's agents fill one): the project grows,
        # the work does not.
        "list_page1_1x": read_case(lambda: page(scopes=small_scope, page=1, limit=SMALL_PAGE)),
        f"list_page1_{large_x}": read_case(
            lambda: page(scopes=large_scope, page=1, limit=SMALL_PAGE)
        ),
        # For context: a page of 20 rows at 100x against the 3 rows at 1x also prices
        # the 17 more rows read, converted and validated.
        f"list_page1_20_rows_{large_x}": read_case(
            lambda: page(scopes=large_scope, page=1, limit=20)
        ),
        "get_agent_1x": read_case(lambda: get(scopes=small_scope, agent_id=small_agent)),
        f"get_agent_{large_x}": read_case(lambda: get(scopes=large_scope, agent_id=large_agent)),
    }
    figures = [
        Figure(
            f"unchanged_put_vs_create_{large_x}",
            f"unchanged_put_{large_x}",
            f"create_{large_x}",
            0.25,
        ),
        Figure(
            f"one_agent_change_vs_create_{large_x}",
            f"one_agent_change_{large_x}",
            f"create_{large_x}",
            0.25,
        ),
        Figure(f"list_page1_{large_x}_vs_1x", f"list_page1_{large_x}", "list_page1_1x", 1.3),
        Figure(
            f"list_page1_20_rows_{large_x}_vs_1x",
            f"list_page1_20_rows_{large_x}",
            "list_page1_1x",
            None,
        ),
        Figure(f"get_agent_{large_x}_vs_1x", f"get_agent_{large_x}", "get_agent_1x", 1.1),
    ]

    with _step("warm-up"):
        for case in cases.values():
            for _ in range(case.warmup):
                await case.measured()
    with _step(f"{settings.rounds} rounds"):
        medians = await interleave(cases, settings.rounds)

    results: dict[str, object] = {}
    for figure in figures:
        ratio = medians[figure.numerator] / medians[figure.denominator]
        entry: dict[str, object] = {"ratio": round(ratio, 3)}
        if figure.target is not None:
            entry |= {"target": f"<= {figure.target}", "pass": ratio <= figure.target}
        results[figure.name] = entry
    absolute: dict[str, float] = {}
    for name, median_us in medians.items():
        if cases[name].unit == "ms":
            absolute[f"{name}_ms"] = round(median_us / 1000, 1)
        else:
            absolute[f"{name}_us"] = round(median_us, 1)
    return {
        "figures": results,
        "medians": absolute,
        "projects": {
            "1x": _summary(small_doc, small_rows),
            large_x: _summary(large_doc, large_rows),
        },
    }


def _summary(document: Document, rows: RowCounts) -> dict[str, object]:
    agents: dict[str, Document] = document["agents"]
    shared = sum(n for t, n in rows.per_table.items() if t not in rows.per_agent_tables)
    return {
        "agents": len(agents),
        "sub_agents": sum(len(a.get("sub_agents", {})) for a in agents.values()),
        "rows": rows.total,
        "shared_rows": shared,  # the project and its project-level collections
    }


# --------------------------------------------------------------------------- backends


async def bench_sqlite(settings: Settings) -> dict[str, object]:
    """The benchmark on two SQLite files in a temporary directory."""
    async with sqlite_scratch() as dbs:
        return await bench_backend(dbs.manage, dbs.runtime, settings)


async def bench_postgres(url: str, settings: Settings) -> dict[str, object]:
    """The benchmark on two scratch PostgreSQL databases, dropped at the end."""
    async with postgres_scratch(url, "scale") as dbs:
        return await bench_backend(dbs.manage, dbs.runtime, settings)


async def main() -> None:
    """Run on SQLite and, given ``--postgres``, on PostgreSQL; print JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (7)")
    parser.add_argument(
        "--iterations", type=int, default=200, help="read calls per case and round (200)"
    )
    parser.add_argument(
        "--put-iterations", type=int, default=5, help="put calls per case and round (5)"
    )
    parser.add_argument("--scale", type=int, default=100, help="agent copies of the large project")
    parser.add_argument("--postgres", default=os.environ.get("AGENTFOLD_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    settings = Settings(
        rounds=args.rounds,
        iterations=args.iterations,
        put_iterations=args.put_iterations,
        scale=args.scale,
    )
    if min(settings.rounds, settings.iterations, settings.put_iterations, settings.scale) < 1:
        parser.error("--rounds, --iterations, --put-iterations and --scale must be >= 1")
    report: dict[str, object] = {
        "scale": settings.scale,
        "rounds": settings.rounds,
        "iterations": settings.iterations,
        "put_iterations": settings.put_iterations,
    }
    print("sqlite", file=sys.stderr)
    report["sqlite"] = await bench_sqlite(settings)
    if args.postgres:
        print("postgresql", file=sys.stderr)
        report["postgresql"] = await bench_postgres(args.postgres, settings)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
