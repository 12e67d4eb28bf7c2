"""Libraries side by side: agentfold vs plain SQLAlchemy ORM vs advanced-alchemy.

The same table (the manage ``agents`` table), the same engine and pool (the
SQLAlchemy ``AsyncEngine`` of an agentfold ``Database``), the same process, both
backends. Four contenders do each operation:

- ``agentfold``: the public curried functions (``get_agent``, ``list_agents``,
  ``create_agent``, ``update_agent``) with ``ProjectScope(tenant, project)``;
- ``sqlalchemy_orm``: an ``AsyncSession`` per call over the SQLModel ``Agent`` class
  (``session.get`` with the composite key; ``select`` with ``order_by``/``limit``/
  ``offset`` plus a ``count``; ``add`` + ``commit``; ``get`` + ``setattr`` + ``commit``);
- ``advanced_alchemy_repository``: a ``SQLAlchemyAsyncRepository`` per call
  (``get_one_or_none``, ``get_many_and_count``, ``add``, ``update``);
- ``advanced_alchemy_service``: a ``SQLAlchemyAsyncRepositoryService`` per call
  (``get_one_or_none``, ``get_many_and_count``, ``create``, ``update`` with
  ``item_id``), its results converted with ``to_schema``.

Every contender does the same work a caller asks of it: input validated with the
pydantic models agentfold generates (``AGENTS.models.api_insert`` / ``api_update``),
scope columns and timestamps set the same way, every query scoped by tenant,
project and branch, and every result validated into the same typed model
(``AgentRow``; pages carry their total). Before timing, each contender's results
are checked against what is stored (read back through agentfold), and the SQL
statements each sends per operation are counted (BEGIN, COMMIT and ROLLBACK
included).

advanced-alchemy works over a plain declarative class mapped onto the same
``Agent.__table__``, not over the SQLModel class: a SQLModel ``table=True``
constructor puts every field's default into the instance, so the partial
``update`` of advanced-alchemy's service and repository, which copy the attributes
set on the instance they are given, also write those defaults (``description``,
``models``, ``execution_mode``, ``created_at``...) over the stored row. The run
shows it once, on a scratch row (``checks.sqlmodel_class_with_advanced_alchemy``).

Prints JSON: per backend and operation, the median µs of each contender (median of
per-round medians; within a round the contenders take turns in batches of 10 calls,
the order rotating every batch), the ratio of each contender to agentfold (> 1:
agentfold is faster) and the statements each sends.

    uv run python bench/libraries.py [--rounds 7] [--iterations 200] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import version
from itertools import count
from typing import Any, ClassVar, NoReturn, Protocol

from advanced_alchemy.exceptions import NotFoundError
from advanced_alchemy.filters import LimitOffset, OrderBy, StatementFilter
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import OffsetPagination, SQLAlchemyAsyncRepositoryService
from sqlalchemy import FromClause, func, inspect, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import DeclarativeBase
from sqlmodel import col

from agentfold_core.data_access.manage.agents import (
    AGENTS,
    create_agent,
    get_agent,
    list_agents,
    update_agent,
)
from agentfold_core.data_access.project_lifecycle import create_project
from agentfold_core.db.engine import Database
from agentfold_core.db.manage.schema import Agent, AgentRow
from agentfold_core.db.types import utcnow
from agentfold_core.migrations import upgrade
from agentfold_core.pagination import Page, Pagination
from agentfold_core.scopes import ProjectScope, TenantScope
from counting import StatementCounter
from scratch import analyze, postgres_scratch, sqlite_scratch

TENANT, CATALOG, WRITES = "bench", "catalog", "writes"
AGENTS_IN_CATALOG = 100
GET_ID = "agent-042"
PAGE, LIMIT = 2, 20
BATCH = 10  # calls a contender makes in a row before the next one's turn
PROMPTS = ("Answer in one sentence.", "Answer in two sentences.")
MODELS = {"base": {"model": "openai/gpt-4.1-mini"}}
Listing = Page[AgentRow] | OffsetPagination[AgentRow]
Values = dict[str, Any]


# --------------------------------------------------------------------------- shared work


def key(scope: ProjectScope, agent_id: str) -> tuple[str, str, str, str]:
    """The composite primary key of an agent, in column order."""
    return (scope.tenant_id, scope.project_id, scope.ref, agent_id)


def scope_columns(scope: ProjectScope) -> Values:
    """The scope columns every query filters by."""
    return {"tenant_id": scope.tenant_id, "project_id": scope.project_id, "branch": scope.ref}


def insert_values(scope: ProjectScope, data: Values) -> Values:
    """A new row as agentfold builds it: validated input, scope columns, timestamps."""
    values = AGENTS.models.api_insert.model_validate(data).model_dump()
    now = utcnow()
    values.update(scope_columns(scope), created_at=now, updated_at=now)
    return values


def update_values(data: Values) -> Values:
    """A partial update as agentfold builds it: the validated fields given, ``updated_at``."""
    values = AGENTS.models.api_update.model_validate(data).model_dump(exclude_unset=True)
    values["updated_at"] = utcnow()
    return values


def as_row(obj: object) -> AgentRow:
    """An ORM object validated into the model agentfold returns."""
    return AgentRow.model_validate(obj)


def as_page(rows: Sequence[object], total: int, page: int, limit: int) -> Page[AgentRow]:
    """ORM objects and a total as agentfold's page envelope."""
    return Page[AgentRow](
        data=[as_row(r) for r in rows],
        pagination=Pagination(page=page, limit=limit, total=total, pages=math.ceil(total / limit)),
    )


def page_filters(page: int, limit: int) -> list[StatementFilter]:
    """advanced-alchemy's filters for one page, newest first."""
    return [
        LimitOffset(limit=limit, offset=(page - 1) * limit),
        OrderBy("created_at", "desc"),
        OrderBy("id", "desc"),
    ]


class Contender(Protocol):
    """One way of doing the four operations."""

    async def get(self, scope: ProjectScope, agent_id: str) -> AgentRow | None:
        """The agent, or ``None``."""

    async def page(self, scope: ProjectScope, page: int, limit: int) -> Listing:
        """One page, newest first, with the total."""

    async def create(self, scope: ProjectScope, data: Values) -> AgentRow:
        """The stored new agent."""

    async def update(self, scope: ProjectScope, agent_id: str, data: Values) -> AgentRow | None:
        """The updated agent, or ``None``."""


# --------------------------------------------------------------------------- contenders


class Agentfold:
    """agentfold's public functions."""

    def __init__(self, db: Database) -> None:
        self._get = get_agent(db)
        self._list = list_agents(db)
        self._create = create_agent(db)
        self._update = update_agent(db)

    async def get(self, scope: ProjectScope, agent_id: str) -> AgentRow | None:
        """``get_agent``."""
        return await self._get(scopes=scope, agent_id=agent_id)

    async def page(self, scope: ProjectScope, page: int, limit: int) -> Listing:
        """``list_agents``."""
        return await self._list(scopes=scope, page=page, limit=limit)

    async def create(self, scope: ProjectScope, data: Values) -> AgentRow:
        """``create_agent``."""
        return await self._create(scopes=scope, data=data)

    async def update(self, scope: ProjectScope, agent_id: str, data: Values) -> AgentRow | None:
        """``update_agent``."""
        return await self._update(scopes=scope, agent_id=agent_id, data=data)


class SqlalchemyOrm:
    """Plain SQLAlchemy ORM: an ``AsyncSession`` per call over the SQLModel class."""

    def __init__(self, db: Database) -> None:
        self.sessions = async_sessionmaker(db.engine, expire_on_commit=False)

    async def get(self, scope: ProjectScope, agent_id: str) -> AgentRow | None:
        """``session.get`` with the composite key."""
        async with self.sessions() as session:
            row = await session.get(Agent, key(scope, agent_id))
            return None if row is None else as_row(row)

    async def page(self, scope: ProjectScope, page: int, limit: int) -> Listing:
        """A ``count`` and a ``select`` with order, limit and offset, in one session."""
        where = (
            col(Agent.tenant_id) == scope.tenant_id,
            col(Agent.project_id) == scope.project_id,
            col(Agent.branch) == scope.ref,
        )
        async with self.sessions() as session:
            total = await session.scalar(select(func.count()).select_from(Agent).where(*where))
            rows = await session.scalars(
                select(Agent)
                .where(*where)
                .order_by(col(Agent.created_at).desc(), col(Agent.id).desc())
                .limit(limit)
                .offset((page - 1) * limit)
            )
            return as_page(rows.all(), int(total or 0), page, limit)

    async def create(self, scope: ProjectScope, data: Values) -> AgentRow:
        """``add`` + ``commit``: one INSERT; the object keeps the values it was given."""
        row = Agent(**insert_values(scope, data))
        async with self.sessions() as session:
            session.add(row)
            await session.commit()
        return as_row(row)

    async def update(self, scope: ProjectScope, agent_id: str, data: Values) -> AgentRow | None:
        """``get`` + ``setattr`` + ``commit``: a SELECT, then an UPDATE of what changed."""
        values = update_values(data)
        async with self.sessions() as session:
            row = await session.get(Agent, key(scope, agent_id))
            if row is None:
                return None
            for name, value in values.items():
                setattr(row, name, value)
            await session.commit()
        return as_row(row)


class _Declarative(DeclarativeBase):
    """A registry of its own for the declarative mapping below."""


class AgentRecord(_Declarative):
    """The ``agents`` table (the very ``Table`` of the SQLModel class), mapped by a plain
    declarative class: its constructor sets only the attributes it is given."""

    __table__: ClassVar[FromClause] = inspect(Agent).local_table


class AgentRepository(SQLAlchemyAsyncRepository[AgentRecord]):
    """advanced-alchemy's repository of agents."""

    model_type = AgentRecord


class AgentService(SQLAlchemyAsyncRepositoryService[AgentRecord, AgentRepository]):
    """advanced-alchemy's service of agents."""

    repository_type = AgentRepository


class AdvancedAlchemyRepository:
    """advanced-alchemy's repository, one per call (per session), with its defaults."""

    def __init__(self, db: Database) -> None:
        self.sessions = async_sessionmaker(db.engine, expire_on_commit=False)

    async def get(self, scope: ProjectScope, agent_id: str) -> AgentRow | None:
        """``get_one_or_none`` by every key column."""
        async with self.sessions() as session:
            repository = AgentRepository(session=session)
            row = await repository.get_one_or_none(**scope_columns(scope), id=agent_id)
            return None if row is None else as_row(row)

    async def page(self, scope: ProjectScope, page: int, limit: int) -> Listing:
        """``get_many_and_count`` (its total is a window count over the scope)."""
        async with self.sessions() as session:
            repository = AgentRepository(session=session)
            rows, total = await repository.get_many_and_count(
                *page_filters(page, limit), **scope_columns(scope)
            )
            return as_page(rows, total, page, limit)

    async def create(self, scope: ProjectScope, data: Values) -> AgentRow:
        """``add`` (INSERT, then a refresh SELECT: its default) + ``commit``."""
        async with self.sessions() as session:
            repository = AgentRepository(session=session)
            row = await repository.add(AgentRecord(**insert_values(scope, data)))
            await session.commit()
            return as_row(row)

    async def update(self, scope: ProjectScope, agent_id: str, data: Values) -> AgentRow | None:
        """``update`` of an instance holding the key and the changes, + ``commit``."""
        changes = AgentRecord(**scope_columns(scope), id=agent_id, **update_values(data))
        async with self.sessions() as session:
            repository = AgentRepository(session=session)
            try:
                row = await repository.update(changes)
            except NotFoundError:
                return None
            await session.commit()
            return as_row(row)


class AdvancedAlchemyService:
    """advanced-alchemy's service, one per call (per session), with its defaults."""

    def __init__(self, db: Database) -> None:
        self.sessions = async_sessionmaker(db.engine, expire_on_commit=False)

    async def get(self, scope: ProjectScope, agent_id: str) -> AgentRow | None:
        """``get_one_or_none`` by every key column, then ``to_schema``."""
        async with self.sessions() as session:
            service = AgentService(session=session)
            row = await service.get_one_or_none(**scope_columns(scope), id=agent_id)
            return None if row is None else service.to_schema(row, schema_type=AgentRow)

    async def page(self, scope: ProjectScope, page: int, limit: int) -> Listing:
        """``get_many_and_count``, then ``to_schema`` (an ``OffsetPagination``)."""
        filters = page_filters(page, limit)
        async with self.sessions() as session:
            service = AgentService(session=session)
            rows, total = await service.get_many_and_count(*filters, **scope_columns(scope))
            return service.to_schema(rows, total, filters, schema_type=AgentRow)

    async def create(self, scope: ProjectScope, data: Values) -> AgentRow:
        """``create`` from a dict (INSERT + refresh SELECT) + ``commit``, ``to_schema``."""
        async with self.sessions() as session:
            service = AgentService(session=session)
            row = await service.create(insert_values(scope, data))
            await session.commit()
            return service.to_schema(row, schema_type=AgentRow)

    async def update(self, scope: ProjectScope, agent_id: str, data: Values) -> AgentRow | None:
        """``update`` of a dict of changes by ``item_id`` + ``commit``, ``to_schema``."""
        async with self.sessions() as session:
            service = AgentService(session=session)
            try:
                row = await service.update(update_values(data), item_id=key(scope, agent_id))
            except NotFoundError:
                return None
            await session.commit()
            return service.to_schema(row, schema_type=AgentRow)


def contenders(db: Database) -> dict[str, Contender]:
    """Every contender, agentfold first."""
    return {
        "agentfold": Agentfold(db),
        "sqlalchemy_orm": SqlalchemyOrm(db),
        "advanced_alchemy_repository": AdvancedAlchemyRepository(db),
        "advanced_alchemy_service": AdvancedAlchemyService(db),
    }


# --------------------------------------------------------------------------- checks


def summary(listing: Listing) -> tuple[list[str], int]:
    """The ids of a page and its total, whatever the envelope."""
    if isinstance(listing, Page):
        return [row.id for row in listing.data], listing.pagination.total
    return [row.id for row in listing.items], listing.total


def content(row: AgentRow) -> Values:
    """A row without what differs between two creations (id, timestamps)."""
    return row.model_dump(exclude={"id", "created_at", "updated_at"})


def fail(message: str) -> NoReturn:
    """Stop the run: a contender does not do what agentfold does."""
    raise SystemExit(f"check failed: {message}")


async def check(
    db: Database, sides: dict[str, Contender], catalog: ProjectScope, writes: ProjectScope
) -> dict[str, dict[str, int]]:
    """Check every contender against what is stored; the statements each sends."""
    stored = Agentfold(db)
    counter = StatementCounter(db.engine.sync_engine)
    statements: dict[str, dict[str, int]] = {}
    expected_get = await stored.get(catalog, GET_ID)
    expected_page = summary(await stored.page(catalog, PAGE, LIMIT))
    if expected_get is None or len(expected_page[0]) != LIMIT:
        fail("the catalog project is not as built")
    created_content: Values | None = None
    for name, side in sides.items():
        counts = statements[name] = {}
        with counter.counting():
            got = await side.get(catalog, GET_ID)
        counts["get_by_id"], counter.count = counter.count, 0
        if got != expected_get or await side.get(catalog, "no-such-agent") is not None:
            fail(f"{name}: get_by_id")

        with counter.counting():
            listing = await side.page(catalog, PAGE, LIMIT)
        counts["list_page"], counter.count = counter.count, 0
        if summary(listing) != expected_page:
            fail(f"{name}: list_page {summary(listing)} != {expected_page}")

        data = {"id": f"check-{name}", "name": "Checked", "prompt": "p", "models": MODELS}
        with counter.counting():
            created = await side.create(writes, data)
        counts["create"], counter.count = counter.count, 0
        if created != await stored.get(writes, created.id):
            fail(f"{name}: create returned a row other than the stored one")
        if created_content is None:
            created_content = content(created)
        elif content(created) != created_content:
            fail(f"{name}: create stored other values than agentfold")

        with counter.counting():
            updated = await side.update(writes, created.id, {"prompt": "changed"})
        counts["update"], counter.count = counter.count, 0
        after = await stored.get(writes, created.id)
        if after is None or updated != after:
            fail(f"{name}: update returned a row other than the stored one")
        unchanged = created.model_dump(exclude={"prompt", "updated_at"})
        if after.model_dump(exclude={"prompt", "updated_at"}) != unchanged:
            fail(f"{name}: a partial update changed other columns")
        if after.prompt != "changed" or after.updated_at <= created.updated_at:
            fail(f"{name}: update did not store the change")
        if await side.update(writes, "no-such-agent", {"prompt": "x"}) is not None:
            fail(f"{name}: update of a missing agent")
    return statements


# SQLModel declares neither ``__table__`` nor ``__mapper__`` to type checkers, so its
# table classes satisfy advanced-alchemy's ``ModelProtocol`` only at run time.
class SQLModelAgentRepository(SQLAlchemyAsyncRepository[Agent]):  # type: ignore[type-var]
    """advanced-alchemy's repository over the SQLModel class itself."""

    model_type = Agent


class SQLModelAgentService(
    SQLAlchemyAsyncRepositoryService[Agent, SQLModelAgentRepository]  # type: ignore[type-var]
):
    """advanced-alchemy's service over the SQLModel class itself."""

    repository_type = SQLModelAgentRepository


async def sqlmodel_class_partial_update(db: Database, writes: ProjectScope) -> dict[str, object]:
    """What a partial update through advanced-alchemy's service does to a row when the
    service works over the SQLModel class: the columns it changed besides the one sent."""
    data = {
        "id": "sqlmodel-class",
        "name": "Kept",
        "description": "kept",
        "prompt": "p",
        "models": MODELS,
        "execution_mode": "durable",
    }
    before = await create_agent(db)(scopes=writes, data=data)
    sessions = async_sessionmaker(db.engine, expire_on_commit=False)
    async with sessions() as session:
        service = SQLModelAgentService(session=session)
        await service.update(update_values({"prompt": "changed"}), item_id=key(writes, before.id))
        await session.commit()
    after = await get_agent(db)(scopes=writes, agent_id=before.id)
    if after is None:
        fail("the SQLModel-class update lost the row")
    old, new = before.model_dump(), after.model_dump()
    changed = sorted(k for k in old if old[k] != new[k] and k not in ("prompt", "updated_at"))
    return {
        "sent": {"prompt": "changed"},
        "also_changed": {k: {"before": _plain(old[k]), "after": _plain(new[k])} for k in changed},
    }


def _plain(value: object) -> object:
    return value if value is None or isinstance(value, str | int | dict) else str(value)


# --------------------------------------------------------------------------- timing


Timer = Callable[[], Awaitable[object]]


async def interleave(timers: dict[str, Timer], rounds: int, iterations: int) -> dict[str, float]:
    """Median µs per timer: the median of per-round medians.

    Within a round the contenders take turns in batches of ``BATCH`` calls, the order
    rotating every batch, so a burst of load on a shared machine falls on all of them
    alike rather than on whichever ran through it.
    """
    for _ in range(20):
        for timer in timers.values():
            await timer()
    per_round: dict[str, list[float]] = {name: [] for name in timers}
    names = list(timers)
    turns = 0
    for _ in range(rounds):
        samples: dict[str, list[float]] = {name: [] for name in timers}
        for _ in range(math.ceil(iterations / BATCH)):
            shift = turns % len(names)
            turns += 1
            for name in names[shift:] + names[:shift]:
                timer = timers[name]
                for _ in range(BATCH):
                    start = time.perf_counter_ns()
                    await timer()
                    samples[name].append((time.perf_counter_ns() - start) / 1000)
        for name, values in samples.items():
            per_round[name].append(statistics.median(values))
    return {name: statistics.median(values) for name, values in per_round.items()}


def figures(medians: dict[str, float], statements: dict[str, int]) -> dict[str, object]:
    """Medians, ratios to agentfold and statements per call of one operation."""
    ours = medians["agentfold"]
    return {
        "median_us": {name: round(value, 1) for name, value in medians.items()},
        "ratio_to_agentfold": {
            name: round(value / ours, 2) for name, value in medians.items() if name != "agentfold"
        },
        "statements": statements,
    }


def getter(side: Contender, scope: ProjectScope, agent_id: str) -> Timer:
    """Reads one agent per call."""

    async def run() -> AgentRow | None:
        return await side.get(scope, agent_id)

    return run


def lister(side: Contender, scope: ProjectScope) -> Timer:
    """Reads one page per call."""

    async def run() -> Listing:
        return await side.page(scope, PAGE, LIMIT)

    return run


def creator(side: Contender, scope: ProjectScope, prefix: str) -> Timer:
    """Creates a new agent per call."""
    ids = count()

    async def run() -> AgentRow:
        data = {"id": f"{prefix}-{next(ids)}", "name": "New", "prompt": "p", "models": MODELS}
        return await side.create(scope, data)

    return run


def updater(side: Contender, scope: ProjectScope, agent_id: str) -> Timer:
    """Updates one agent's prompt per call, alternating so every call changes it."""
    calls = count()

    async def run() -> AgentRow | None:
        return await side.update(scope, agent_id, {"prompt": PROMPTS[next(calls) % 2]})

    return run


# --------------------------------------------------------------------------- one backend


@contextmanager
def _step(what: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    print(f"  {what}: {time.perf_counter() - start:.1f} s", file=sys.stderr)


async def bench_backend(
    manage: Database, runtime: Database, rounds: int, iterations: int
) -> dict[str, object]:
    """Build the projects, check every contender, time every operation."""
    await upgrade(manage)
    await upgrade(runtime)
    new_project = create_project(manage, runtime)
    for project_id in (CATALOG, WRITES):
        await new_project(scopes=TenantScope(TENANT), data={"id": project_id, "name": project_id})
    catalog, writes = ProjectScope(TENANT, CATALOG), ProjectScope(TENANT, WRITES)
    sides = contenders(manage)
    with _step(f"{AGENTS_IN_CATALOG} agents"):
        for i in range(AGENTS_IN_CATALOG):
            data = {
                "id": f"agent-{i:03}",
                "name": f"Agent {i}",
                "description": "An agent of the catalog.",
                "prompt": PROMPTS[0],
                "models": MODELS,
            }
            await create_agent(manage)(scopes=catalog, data=data)
        for name in sides:
            await create_agent(manage)(scopes=writes, data={"id": f"update-{name}", "name": name})
    await analyze(manage)

    with _step("checks"):
        statements = await check(manage, sides, catalog, writes)
        sqlmodel_class = await sqlmodel_class_partial_update(manage, writes)

    operations: dict[str, dict[str, Timer]] = {
        "get_by_id": {name: getter(side, catalog, GET_ID) for name, side in sides.items()},
        "list_page": {name: lister(side, catalog) for name, side in sides.items()},
        # New agents go to another project, so the listed one keeps its size.
        "create": {name: creator(side, writes, f"new-{name}") for name, side in sides.items()},
        "update": {name: updater(side, writes, f"update-{name}") for name, side in sides.items()},
    }
    results: dict[str, object] = {}
    for operation, timers in operations.items():
        with _step(operation):
            medians = await interleave(timers, rounds, iterations)
        per_side = {name: counts[operation] for name, counts in statements.items()}
        results[operation] = figures(medians, per_side)
    results["checks"] = {
        # Every result equals the row read back; partial updates keep the other columns.
        "contenders_match_stored_rows": True,
        "sqlmodel_class_with_advanced_alchemy": sqlmodel_class,
    }
    return results


async def bench_sqlite(rounds: int, iterations: int) -> dict[str, object]:
    """The benchmark on two SQLite files in a temporary directory."""
    async with sqlite_scratch() as dbs:
        return await bench_backend(dbs.manage, dbs.runtime, rounds, iterations)


async def bench_postgres(url: str, rounds: int, iterations: int) -> dict[str, object]:
    """The benchmark on two scratch PostgreSQL databases, dropped at the end."""
    async with postgres_scratch(url, "libs") as dbs:
        return await bench_backend(dbs.manage, dbs.runtime, rounds, iterations)


async def main() -> None:
    """Run on SQLite and, given ``--postgres``, on PostgreSQL; print JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (7)")
    parser.add_argument(
        "--iterations",
        type=int,
        default=200,
        help="calls per contender and round, in batches of 10 (200)",
    )
    parser.add_argument("--postgres", default=os.environ.get("AGENTFOLD_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    if min(args.rounds, args.iterations) < 1:
        parser.error("--rounds and --iterations must be >= 1")
    report: dict[str, object] = {
        "rounds": args.rounds,
        "iterations": args.iterations,
        "versions": {
            package: version(package)
            for package in (
                "sqlalchemy",
                "sqlmodel",
                "pydantic",
                "advanced-alchemy",
                "aiosqlite",
                "psycopg",
            )
        },
    }
    print("sqlite", file=sys.stderr)
    report["sqlite"] = await bench_sqlite(args.rounds, args.iterations)
    if args.postgres:
        print("postgresql", file=sys.stderr)
        report["postgresql"] = await bench_postgres(args.postgres, args.rounds, args.iterations)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
