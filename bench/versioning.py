"""Versioning: agentfold's version control against the reference prototype, same run.

One scenario, on each backend, through agentfold (``agentfold_core.versioning``) and
through the measured prototype of DESIGN.md section 8
(``reference/versioning-prototype``: ``vcs.py``, ``common.py``), the prototype in its
trigger-capture mode. Both hold a project of 1,000 config rows:

- agentfold: 1 project row, 200 agents and 799 sub-agents, imported with
  ``put_full_project`` (one commit);
- prototype: its toy schema sized as its ``bench_vcs.py`` does (400 agents, 200 tools,
  400 agent-tool links), seeded and committed once.

Operations (each side its own, in interleaved rounds; median of per-round medians):

- ``commit``: a unit changing 10 agents, committed (agentfold: ``transaction(manage)``
  with 10 ``update_agent`` calls, timed whole incl. the database COMMIT; prototype: 10
  UPDATEs and ``vcs.commit`` in ``engine.begin()``, timed whole);
- ``create_branch``: a branch from the clean head of main (deleted again, untimed);
- ``diff``: two branch heads, each 10 rows away from their common base;
- ``merge``: a branch into main, each side having committed 10 different rows (the
  branch and both commits made untimed before each call);
- ``revert``: of main~1, a 10-row commit (two 10-row commits made untimed first);
- ``read_main_25``: the whole project 25 commits back (agentfold: ``get_full_project``
  at ``ProjectScope(ref="main~25")``; prototype ``read_at(..., "main~25")``), timed
  twice: cold (materialised copies evicted first, untimed) and again. A whole-document
  read at a past commit is decoded from its row images and materialises nothing, so
  both take the same path; other reads at a past commit (``list_*``, ``get_*``) still
  materialise it on first read.

And two agentfold-only ratios: ``update_agent`` of one row with versioning / the same
update on a copy of the database whose capture triggers were dropped
(``CaptureSpec.drop_sql``), and the commit case on a 10,000-row project / on the
1,000-row one (both projects in the same database). The update pair is timed again
after the mixed rounds, alternating only with each other: in the mixed rounds'
rotation each case always follows the same neighbour, the versioned update an
agentfold read that materialises and evicts copies on its database, the capture-off
update the light versioned one, so the ratio there also measures the aftermath of the
case before it (kept as ``update_versioned_vs_capture_off_in_mix``, no target).

Prints JSON: per backend the ratios with targets and pass flags, the medians (ms) and
the SQL statements each operation sends (counted once, outside the timing; BEGIN and
COMMIT included; agentfold's batched statements are sent in one round trip, counted
one each).

    uv run python bench/versioning.py [--rounds 7] [--iterations 5]
        [--prototype ../shared/reference/versioning-prototype] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.engine import make_url

from agentfold_core.data_access.documents import get_full_project, put_full_project
from agentfold_core.data_access.doors import transaction
from agentfold_core.data_access.manage.agents import update_agent
from agentfold_core.db.engine import Database
from agentfold_core.migrations import upgrade
from agentfold_core.scopes import ProjectScope
from agentfold_core.versioning.branches import create_branch, delete_branch
from agentfold_core.versioning.capture import CaptureSpec
from agentfold_core.versioning.commit import Branch
from agentfold_core.versioning.diff import diff
from agentfold_core.versioning.materialise import drop_branch_rows
from agentfold_core.versioning.merge import merge, revert
from agentfold_core.versioning.rows import versioned_tables
from agentfold_core.versioning.tables import branches
from counting import StatementCounter
from scratch import analyze, postgres_scratch, sqlite_scratch

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PROTOTYPE = REPO.parent / "shared" / "reference" / "versioning-prototype"

TENANT = "bench"
SMALL, LARGE = "vc-1k", "vc-10k"
PROMPT = "You are a helpful support agent. Answer using the knowledge base. " * 4
CHANGED = 10  # rows per change
BYSTANDERS = 10  # other 1,000-row projects in the prototype database
HISTORY = 30  # commits made before timing (read_main_25 needs 25)

Measured = Callable[[], Awaitable[float]]  # one call; returns its elapsed µs


# --------------------------------------------------------------------------- prototype


def load_prototype(path: Path) -> tuple[ModuleType, ModuleType]:
    """The prototype's ``common`` and ``vcs`` modules, imported from ``path``."""
    if not (path / "vcs.py").is_file() or not (path / "common.py").is_file():
        print(
            f"error: the versioning prototype is not at {path} (no vcs.py / common.py);"
            " pass its directory with --prototype PATH",
            file=sys.stderr,
        )
        raise SystemExit(2)
    sys.path.insert(0, str(path))
    return importlib.import_module("common"), importlib.import_module("vcs")


class Prototype:
    """The prototype's toy project of 1,000 rows on one engine, driven like its
    ``bench_vcs.py``: every operation in its own ``engine.begin()``."""

    T, P = "t1", "p00"
    AGENTS, TOOLS, LINKS = 400, 200, 400

    def __init__(self, common: ModuleType, engine: sa.Engine) -> None:
        _, self.vcs, self.agents, self.tools, self.links = common.make_schema(
            capture="triggers", snapshot_every=100
        )
        self.engine = engine
        self.vcs.install(engine)
        self.edits = count()
        self.branches = count()

    def seed(self, project: str | None = None) -> None:
        """The project's 1,000 rows and their first commit."""
        t, p = self.T, project or self.P
        scope = {"tenant_id": t, "project_id": p, "branch": "main"}
        with self.engine.begin() as c:
            self.vcs.init_project(c, t, p)
            c.execute(
                sa.insert(self.agents),
                [
                    {
                        **scope,
                        "id": f"a{i:03d}",
                        "name": f"Agent {i}",
                        "description": "d" * 80,
                        "model": "claude-x",
                        "prompt": PROMPT,
                        "temperature": 0.2,
                        "config": {"max_tokens": 1000, "tools": i % 7},
                    }
                    for i in range(self.AGENTS)
                ],
            )
            c.execute(
                sa.insert(self.tools),
                [
                    {
                        **scope,
                        "id": f"t{i:03d}",
                        "name": f"Tool {i}",
                        "kind": "mcp",
                        "config": {"url": f"http://svc/{i}", "headers": {"x": "y"}},
                    }
                    for i in range(self.TOOLS)
                ],
            )
            c.execute(
                sa.insert(self.links),
                [
                    {**scope, "agent_id": f"a{i:03d}", "tool_id": f"t{i % 200:03d}", "settings": {}}
                    for i in range(self.LINKS)
                ],
            )
            self.vcs.commit(c, t, p, "main", "seed 1000 rows")

    def change(self, c: sa.Connection, branch: str, first: int) -> None:
        """Update 10 agents from ``first`` (10 UPDATE statements, as 10 calls would)."""
        a = self.agents
        s = next(self.edits)
        for j in range(CHANGED):
            c.execute(
                sa.update(a)
                .where(
                    a.c.tenant_id == self.T,
                    a.c.project_id == self.P,
                    a.c.branch == branch,
                    a.c.id == f"a{(first + j) % self.AGENTS:03d}",
                )
                .values(temperature=(s * 7 + j) % 100 / 100, name=f"Agent v{s}")
            )

    def commit(self, branch: str, first: int) -> None:
        """A 10-row change and its commit, in one transaction."""
        with self.engine.begin() as c:
            self.change(c, branch, first)
            self.vcs.commit(c, self.T, self.P, branch, "edit", author="u1")

    def create_branch(self, name: str, source: str = "main") -> None:
        with self.engine.begin() as c:
            self.vcs.create_branch(c, self.T, self.P, name, source)

    def delete_branch(self, name: str) -> None:
        with self.engine.begin() as c:
            self.vcs.delete_branch(c, self.T, self.P, name)

    def diff(self, a: str, b: str) -> int:
        with self.engine.connect() as c:
            return len(self.vcs.diff(c, self.T, self.P, a, b))

    def merge(self, source: str) -> Any:
        with self.engine.begin() as c:
            result = self.vcs.merge(c, self.T, self.P, "main", source)
        if not result.commit_id or result.conflicts:
            raise SystemExit(f"prototype merge did not commit cleanly: {result}")
        return result

    def revert(self, ref: str) -> None:
        with self.engine.begin() as c:
            result = self.vcs.revert(c, self.T, self.P, "main", ref)
        if not result.commit_id:
            raise SystemExit(f"prototype revert made no commit: {result}")

    def read_at(self, ref: str) -> int:
        with self.engine.connect() as c:
            rows = self.vcs.read_at(c, self.T, self.P, ref)
        return sum(len(v) for v in rows.values())


# --------------------------------------------------------------------------- agentfold


def project_document(project_id: str, rows: int) -> dict[str, Any]:
    """A project of ``rows`` manage rows: the project, rows/5 agents, the rest sub-agents
    (four per agent, fewer for the last ones)."""
    agents = rows // 5
    subs = [4] * agents
    extra = sum(subs) - (rows - 1 - agents)
    for index in range(extra):
        subs[-1 - index % agents] -= 1
    return {
        "id": project_id,
        "name": f"Project {project_id}",
        "agents": {
            agent_id(i): {
                "name": f"Agent {i}",
                "description": "d" * 80,
                "prompt": PROMPT,
                "default_sub_agent_id": "s0",
                "sub_agents": {
                    f"s{j}": {"name": f"Sub {j}", "description": f"sub-agent {j}", "prompt": PROMPT}
                    for j in range(subs[i])
                },
            }
            for i in range(agents)
        },
    }


def agent_id(index: int) -> str:
    """The id of the agent at ``index``."""
    return f"agent-{index:04d}"


class Agentfold:
    """agentfold's side of the scenario on one manage database."""

    def __init__(self, manage: Database, runtime: Database) -> None:
        self.manage, self.runtime = manage, runtime
        self.edits = count()

    def scope(self, project: str = SMALL, ref: str = "main") -> ProjectScope:
        return ProjectScope(TENANT, project, ref=ref)

    async def commit(self, branch: str, first: int, project: str = SMALL) -> None:
        """One unit updating 10 agents from ``first``: one commit."""
        s = next(self.edits)
        scope = self.scope(project, branch)
        async with transaction(self.manage) as unit:
            update = update_agent(unit)
            for j in range(CHANGED):
                await update(
                    scopes=scope, agent_id=agent_id((first + j) % 200), data={"prompt": f"v{s}"}
                )

    async def update_one(self, index: int) -> None:
        """``update_agent`` of one agent's prompt (its own unit and commit)."""
        s = next(self.edits)
        await update_agent(self.manage)(
            scopes=self.scope(), agent_id=agent_id(index % 200), data={"prompt": f"one {s}"}
        )

    async def create_branch(self, name: str, source: str = "main") -> None:
        await create_branch(self.manage)(scopes=self.scope(ref=source), name=name)

    async def delete_branch(self, name: str) -> None:
        if not await delete_branch(self.manage, self.runtime)(scopes=self.scope(ref=name)):
            raise SystemExit(f"branch {name} was not there to delete")

    async def diff(self, a: str, b: str) -> int:
        found = await diff(self.manage)(scopes=self.scope(ref=b), from_ref=a)
        return len(found.rows)

    async def merge(self, source: str) -> None:
        result = await merge(self.manage)(scopes=self.scope(), from_ref=source)
        if not result.committed:
            raise SystemExit(f"agentfold merge made no merge commit: {result}")

    async def revert(self, ref: str) -> None:
        result = await revert(self.manage)(scopes=self.scope(), commit_ref=ref)
        if not result.committed:
            raise SystemExit(f"agentfold revert made no commit: {result}")

    async def read_at(self, ref: str, project: str = SMALL) -> int:
        """The whole project at ``ref``; its row count."""
        document = await get_full_project(self.manage)(scopes=self.scope(project, ref))
        if document is None:
            raise SystemExit(f"no project at {ref}")
        agents: dict[str, Any] = document["agents"]
        return 1 + len(agents) + sum(len(a["sub_agents"]) for a in agents.values())

    async def evict(self) -> None:
        """Drop every materialised copy of a past commit (the next read makes one)."""
        async with transaction(self.manage) as unit:
            found = await unit.conn.execute(
                select(branches.c.branch).where(
                    branches.c.tenant_id == TENANT,
                    branches.c.project_id == SMALL,
                    branches.c.internal.is_(True),
                )
            )
            for (name,) in found.all():
                await drop_branch_rows(unit.conn, Branch(TENANT, SMALL, str(name)))


async def drop_capture(manage: Database) -> None:
    """Remove the capture triggers of every versioned table."""
    dialect = manage.engine.dialect.name
    async with manage.engine.begin() as conn:
        for table in versioned_tables():
            for sql in CaptureSpec.of(table).drop_sql(dialect):
                await conn.exec_driver_sql(sql)


# --------------------------------------------------------------------------- counting


# --------------------------------------------------------------------------- timing


def _us(start: int) -> float:
    return (time.perf_counter_ns() - start) / 1000


@dataclass(frozen=True)
class Figure:
    """A ratio of two medians measured in the same run, with its target."""

    name: str
    numerator: str
    denominator: str
    target: float | None  # None: shown for context, no target


FIGURES = (
    Figure("commit_10_rows", "af_commit", "proto_commit", 0.5),
    Figure("create_branch", "af_create_branch", "proto_create_branch", 0.5),
    Figure("diff_branch_heads", "af_diff", "proto_diff", 1.0),
    Figure("merge_10_vs_10", "af_merge", "proto_merge", 0.5),
    Figure("revert_10_row_commit", "af_revert", "proto_revert", 1.0),
    Figure("read_main_25_cold", "af_read_cold", "proto_read", 1.0),
    Figure("read_main_25_materialised", "af_read_warm", "proto_read", 1.0),
    Figure(
        "update_versioned_vs_capture_off", "pair_update_one", "pair_update_one_capture_off", 2.0
    ),
    Figure(
        "update_versioned_vs_capture_off_in_mix",
        "af_update_one",
        "af_update_one_capture_off",
        None,
    ),
    Figure("commit_10k_vs_1k_rows", "af_commit_10k", "af_commit", 1.3),
    # For the reading of the commit figure: the same unit without capture triggers
    # (its 10 UPDATEs, BEGIN, COMMIT and one empty look for recorded keys).
    Figure("commit_10_rows_versioned_vs_capture_off", "af_commit", "af_commit_capture_off", None),
)


UPDATE_PAIR = ("af_update_one", "af_update_one_capture_off")


async def interleave(cases: dict[str, Measured], rounds: int, calls: int) -> dict[str, float]:
    """Median µs per case: the median of per-round medians, the order rotating per round."""
    per_round: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            samples = [await cases[name]() for _ in range(calls)]
            per_round[name].append(statistics.median(samples))
    return {name: statistics.median(values) for name, values in per_round.items()}


@contextmanager
def _step(what: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    print(f"  {what}: {time.perf_counter() - start:.1f} s", file=sys.stderr)


# --------------------------------------------------------------------------- one backend


@dataclass(frozen=True)
class Settings:
    """Command-line settings."""

    rounds: int
    iterations: int
    prototype: Path


async def bench_backend(
    af: Agentfold, off: Agentfold, proto: Prototype, settings: Settings
) -> dict[str, object]:
    """Set both sides up, check them, count statements, time every case."""
    manage = af.manage
    put = put_full_project(manage, af.runtime)
    with _step("set-up"):
        for db in (manage, af.runtime, off.manage, off.runtime):
            await upgrade(db)
        await put(scopes=af.scope(SMALL), document=project_document(SMALL, 1000))
        await put(scopes=af.scope(LARGE), document=project_document(LARGE, 10_000))
        await put(scopes=off.scope(SMALL), document=project_document(SMALL, 1000))
        await drop_capture(off.manage)
        proto.seed()
        # Bystanders: both databases hold 11,000 config rows (agentfold's 10,000-row
        # project; the prototype's bench_vcs.py seeds 20 projects the same way).
        for k in range(1, 1 + BYSTANDERS):
            proto.seed(f"p{k:02d}")
        # History to read back from, on both sides.
        for i in range(HISTORY):
            await af.commit("main", (i * CHANGED) % 100)
            proto.commit("main", (i * CHANGED) % 200)
        # Two branches 10 rows away from their base each, for the diff.
        for name, first in (("diff-a", 100), ("diff-b", 150)):
            await af.create_branch(name)
            await af.commit(name, first)
            proto.create_branch(name)
            proto.commit(name, first + 100)
        rows = {
            "agentfold": await af.read_at("main"),
            "agentfold_main_25": await af.read_at("main~25"),
            "agentfold_10k": await af.read_at("main", LARGE),
            "prototype": proto.read_at("main"),
            "prototype_main_25": proto.read_at("main~25"),
            "agentfold_diff_rows": await af.diff("diff-a", "diff-b"),
            "prototype_diff_rows": proto.diff("diff-a", "diff-b"),
        }
        if manage.backend == "postgresql":
            for db in (manage, off.manage):
                await analyze(db)
            with proto.engine.connect() as c:
                c.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")

    names = count()
    merges = count()

    async def af_merge() -> float:
        n = next(merges)
        name = f"m{next(names)}"
        await af.create_branch(name)
        await af.commit(name, 100 + (n * CHANGED) % 100)
        await af.commit("main", (n * CHANGED) % 100)
        start = time.perf_counter_ns()
        await af.merge(name)
        elapsed = _us(start)
        await af.delete_branch(name)
        return elapsed

    def proto_merge() -> float:
        n = next(merges)
        name = f"m{next(names)}"
        proto.create_branch(name)
        proto.commit(name, 200 + (n * CHANGED) % 200)
        proto.commit("main", (n * CHANGED) % 200)
        start = time.perf_counter_ns()
        proto.merge(name)
        elapsed = _us(start)
        proto.delete_branch(name)
        return elapsed

    reverts = count()

    async def af_revert() -> float:
        n = next(reverts)
        await af.commit("main", (n * 20) % 100)
        await af.commit("main", (n * 20 + CHANGED) % 100)
        start = time.perf_counter_ns()
        await af.revert("main~1")
        return _us(start)

    def proto_revert() -> float:
        n = next(reverts)
        proto.commit("main", (n * 20) % 200)
        proto.commit("main", (n * 20 + CHANGED) % 200)
        start = time.perf_counter_ns()
        proto.revert("main~1")
        return _us(start)

    async def af_branch() -> float:
        name = f"b{next(names)}"
        start = time.perf_counter_ns()
        await af.create_branch(name)
        elapsed = _us(start)
        await af.delete_branch(name)
        return elapsed

    def proto_branch() -> float:
        name = f"b{next(names)}"
        start = time.perf_counter_ns()
        proto.create_branch(name)
        elapsed = _us(start)
        proto.delete_branch(name)
        return elapsed

    commits = count()

    def af_commit_on(project: str, side: Agentfold = af) -> Measured:
        async def run() -> float:
            first = (next(commits) * CHANGED) % 100
            start = time.perf_counter_ns()
            await side.commit("main", first, project)
            return _us(start)

        return run

    async def proto_commit() -> float:
        first = (next(commits) * CHANGED) % 200
        start = time.perf_counter_ns()
        proto.commit("main", first)
        return _us(start)

    async def af_diff() -> float:
        start = time.perf_counter_ns()
        await af.diff("diff-a", "diff-b")
        return _us(start)

    async def proto_diff() -> float:
        start = time.perf_counter_ns()
        proto.diff("diff-a", "diff-b")
        return _us(start)

    async def af_read_cold() -> float:
        await af.evict()
        start = time.perf_counter_ns()
        await af.read_at("main~25")
        return _us(start)

    async def af_read_warm() -> float:
        await af.read_at("main~25")  # materialised if main moved since the last read
        start = time.perf_counter_ns()
        await af.read_at("main~25")
        return _us(start)

    async def proto_read() -> float:
        start = time.perf_counter_ns()
        proto.read_at("main~25")
        return _us(start)

    updates = count()

    def update_on(side: Agentfold) -> Measured:
        async def run() -> float:
            index = next(updates)
            start = time.perf_counter_ns()
            await side.update_one(index)
            return _us(start)

        return run

    async def sync(call: Callable[[], float]) -> float:
        return call()

    cases: dict[str, Measured] = {
        "af_commit": af_commit_on(SMALL),
        "proto_commit": proto_commit,
        "af_commit_10k": af_commit_on(LARGE),
        "af_commit_capture_off": af_commit_on(SMALL, off),
        "af_create_branch": af_branch,
        "proto_create_branch": lambda: sync(proto_branch),
        "af_diff": af_diff,
        "proto_diff": proto_diff,
        "af_merge": af_merge,
        "proto_merge": lambda: sync(proto_merge),
        "af_revert": af_revert,
        "proto_revert": lambda: sync(proto_revert),
        "af_read_cold": af_read_cold,
        "af_read_warm": af_read_warm,
        "proto_read": proto_read,
        "af_update_one": update_on(af),
        "af_update_one_capture_off": update_on(off),
    }

    with _step("statements"):
        statements = await count_statements(af, off, proto)
    with _step("warm-up"):
        for measured in cases.values():
            await measured()
    with _step(f"{settings.rounds} rounds of {settings.iterations}"):
        medians = await interleave(cases, settings.rounds, settings.iterations)
    with _step(f"the update pair alone: {settings.rounds} rounds of {settings.iterations}"):
        pair = await interleave(
            {f"pair_{name[3:]}": cases[name] for name in UPDATE_PAIR},
            settings.rounds,
            settings.iterations,
        )
    medians |= pair

    figures: dict[str, object] = {}
    for figure in FIGURES:
        ratio = medians[figure.numerator] / medians[figure.denominator]
        entry: dict[str, object] = {"ratio": round(ratio, 3)}
        if figure.target is not None:
            entry |= {"target": f"<= {figure.target}", "pass": ratio <= figure.target}
        entry |= {
            "numerator_ms": round(medians[figure.numerator] / 1000, 2),
            "denominator_ms": round(medians[figure.denominator] / 1000, 2),
        }
        figures[figure.name] = entry
    return {
        "figures": figures,
        "medians_ms": {name: round(us / 1000, 2) for name, us in medians.items()},
        "statements": statements,
        "rows": rows,
    }


async def count_statements(af: Agentfold, off: Agentfold, proto: Prototype) -> dict[str, object]:
    """SQL statements per operation, each side (outside the timing: listening to
    statements takes agentfold off its prepared fast path)."""
    af_counter = StatementCounter(af.manage.engine.sync_engine)
    off_counter = StatementCounter(off.manage.engine.sync_engine)
    proto_counter = StatementCounter(proto.engine)

    async def on(counter: StatementCounter, call: Callable[[], Awaitable[object]]) -> int:
        counter.count = 0
        with counter.counting():
            await call()
        return counter.count

    async def wrap(call: Callable[[], object]) -> object:
        return call()

    found: dict[str, dict[str, int]] = {"agentfold": {}, "prototype": {}}
    a, p = found["agentfold"], found["prototype"]
    a["commit"] = await on(af_counter, lambda: af.commit("main", 40))
    p["commit"] = await on(proto_counter, lambda: wrap(lambda: proto.commit("main", 40)))
    a["commit_10k"] = await on(af_counter, lambda: af.commit("main", 40, LARGE))
    a["create_branch"] = await on(af_counter, lambda: af.create_branch("count"))
    p["create_branch"] = await on(proto_counter, lambda: wrap(lambda: proto.create_branch("count")))
    await af.commit("count", 120)
    proto.commit("count", 220)
    a["diff"] = await on(af_counter, lambda: af.diff("diff-a", "diff-b"))
    p["diff"] = await on(proto_counter, lambda: wrap(lambda: proto.diff("diff-a", "diff-b")))
    await af.commit("main", 60)
    proto.commit("main", 60)
    a["merge"] = await on(af_counter, lambda: af.merge("count"))
    p["merge"] = await on(proto_counter, lambda: wrap(lambda: proto.merge("count")))
    await af.delete_branch("count")
    proto.delete_branch("count")
    await af.commit("main", 70)
    proto.commit("main", 70)
    await af.commit("main", 80)
    proto.commit("main", 80)
    a["revert"] = await on(af_counter, lambda: af.revert("main~1"))
    p["revert"] = await on(proto_counter, lambda: wrap(lambda: proto.revert("main~1")))
    await af.evict()
    a["read_main_25_cold"] = await on(af_counter, lambda: af.read_at("main~25"))
    a["read_main_25_materialised"] = await on(af_counter, lambda: af.read_at("main~25"))
    p["read_main_25"] = await on(proto_counter, lambda: wrap(lambda: proto.read_at("main~25")))
    a["update_one"] = await on(af_counter, lambda: af.update_one(0))
    a["commit_capture_off"] = await on(off_counter, lambda: off.commit("main", 40))
    a["update_one_capture_off"] = await on(off_counter, lambda: off.update_one(0))
    return {**found}


# --------------------------------------------------------------------------- backends


async def bench_sqlite(settings: Settings, common: ModuleType) -> dict[str, object]:
    """SQLite files in a temporary directory: agentfold's, the capture-off copy's and
    the prototype's."""
    async with sqlite_scratch() as dbs, sqlite_scratch() as off_dbs:
        with tempfile.TemporaryDirectory() as tmp:
            engine = common.make_engine("sqlite", os.path.join(tmp, "prototype.db"))
            try:
                proto = Prototype(common, engine)
                return await bench_backend(
                    Agentfold(dbs.manage, dbs.runtime),
                    Agentfold(off_dbs.manage, off_dbs.runtime),
                    proto,
                    settings,
                )
            finally:
                engine.dispose()


@asynccontextmanager
async def prototype_database(server_url: str) -> AsyncIterator[str]:
    """A scratch database for the prototype (whose set-up drops its ``public`` schema),
    dropped on exit; its URL."""
    server = make_url(server_url)
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"agentfold_vcproto_{secrets.token_hex(3)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(drivername="postgresql+psycopg", database=name).render_as_string(
            hide_password=False
        )
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def bench_postgres(url: str, settings: Settings, common: ModuleType) -> dict[str, object]:
    """Scratch PostgreSQL databases, dropped at the end."""
    async with (
        postgres_scratch(url, "vc") as dbs,
        postgres_scratch(url, "vcoff") as off_dbs,
        prototype_database(url) as proto_url,
    ):
        vars(common)["PG_URL"] = proto_url  # make_engine drops and recreates this database's schema
        engine = common.make_engine("pg")
        try:
            proto = Prototype(common, engine)
            return await bench_backend(
                Agentfold(dbs.manage, dbs.runtime),
                Agentfold(off_dbs.manage, off_dbs.runtime),
                proto,
                settings,
            )
        finally:
            engine.dispose()


async def main() -> None:
    """Run on SQLite and, given ``--postgres``, on PostgreSQL; print JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (7)")
    parser.add_argument("--iterations", type=int, default=5, help="calls per case and round (5)")
    parser.add_argument(
        "--prototype",
        type=Path,
        default=DEFAULT_PROTOTYPE,
        help=f"the prototype's directory ({DEFAULT_PROTOTYPE})",
    )
    parser.add_argument("--postgres", default=os.environ.get("AGENTFOLD_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    if min(args.rounds, args.iterations) < 1:
        parser.error("--rounds and --iterations must be >= 1")
    settings = Settings(args.rounds, args.iterations, args.prototype.resolve())
    common, _ = load_prototype(settings.prototype)
    report: dict[str, object] = {
        "rounds": settings.rounds,
        "iterations": settings.iterations,
        "prototype": str(settings.prototype),
    }
    print("sqlite", file=sys.stderr)
    report["sqlite"] = await bench_sqlite(settings, common)
    if args.postgres:
        print("postgresql", file=sys.stderr)
        report["postgresql"] = await bench_postgres(args.postgres, settings, common)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
