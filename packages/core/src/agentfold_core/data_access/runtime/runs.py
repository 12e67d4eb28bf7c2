"""Agent runs and their steps: starting a run under its parent, heartbeats, finishing
with the cost rolled up to every ancestor, and reading a whole run tree.

A run's ``ancestors`` (root..parent), ``root_run_id`` and ``depth`` are derived from
its parent inside the INSERT that creates it, so they are consistent whatever runs
concurrently. A run's direct cost and credits are the sums of its LLM calls; when it
finishes, they are added to the subtree totals of the run and of every ancestor in
the same transaction, so each subtree total is the sum over its finished runs.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    bindparam,
    cast,
    func,
    insert,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.engine import Dialect

from agentfold_core.content import RunError
from agentfold_core.data_access.crud import Entity
from agentfold_core.data_access.doors import Access, Db, reading, writing
from agentfold_core.data_access.scope_keys import Target
from agentfold_core.db.integrity import domain_errors
from agentfold_core.db.prepared import Prepared, prepare, run
from agentfold_core.db.runtime.schema import (
    OPEN_RUN_STATUSES,
    AgentRun,
    AgentRunRow,
    AgentStep,
    AgentStepRow,
    LlmCall,
)
from agentfold_core.db.traits import sa_table
from agentfold_core.db.types import utcnow
from agentfold_core.errors import InvalidReference, NotFound, RunFinished, ValidationFailed
from agentfold_core.scopes import ProjectScope
from agentfold_core.validation import Data, validation_failed

FINAL_RUN_STATUSES = ("completed", "failed", "cancelled")
# Derived when the run is inserted: never taken from callers.
_DERIVED = ("ancestors", "root_run_id", "depth")
_AMOUNTS = ("cost", "credits", "subtree_cost", "subtree_credits")


class RunEntity(Entity[AgentRunRow]):
    """Runs: a row created without a parent is a root (its own root, depth 0)."""

    def insert_values(self, target: Target, data: Data) -> dict[str, Any]:
        """Validated values of a new run, derived columns set for a root."""
        values = super().insert_values(target, data)
        values.update(ancestors=[], root_run_id=values["id"], depth=0)
        # Amounts are written when the run finishes; until then nothing is spent.
        values.update(dict.fromkeys(_AMOUNTS, Decimal(0)))
        return values


RUNS = RunEntity(AgentRun, label="run", plural="runs", path="runs")
get_run = RUNS.get
list_runs = RUNS.list
delete_run = RUNS.delete

STEPS: Entity[AgentStepRow] = Entity(AgentStep, label="step", plural="steps", path="steps")
get_step = STEPS.get
list_steps = STEPS.list
create_step = STEPS.create
update_step = STEPS.update
upsert_step = STEPS.upsert
delete_step = STEPS.delete


def given(data: Data, name: str) -> bool:
    """Whether the caller set ``name`` in ``data`` (not merely left its default)."""
    if isinstance(data, BaseModel):
        return name in data.model_fields_set
    return name in data


def key_condition(table: Any, key: Mapping[str, Any]) -> ColumnElement[bool]:
    """``column = value`` for each key column."""
    return and_(*(table.c[name] == value for name, value in key.items()))


def run_key(access: Access, run_id: str) -> dict[str, Any]:
    """The full key of run ``run_id`` in the access's project (checked id)."""
    return RUNS.key(access.target, {"run_id": run_id})


def _append(dialect: Dialect, ancestors: Any, run_id: Any) -> Any:
    # The parent's chain plus the parent itself, computed by the database.
    if dialect.name == "postgresql":
        return ancestors.op("||")(func.jsonb_build_array(run_id))
    return func.json_insert(ancestors, "$[#]", run_id)


@functools.cache
def _child_insert(dialect: Dialect, names: tuple[str, ...]) -> Prepared:
    # INSERT ... SELECT from the parent row: the child's ancestors, root and depth come
    # from the parent in the same statement; no parent, no row.
    table = RUNS.table
    parent = table.alias("parent")
    given_values = [bindparam(f"v_{n}", type_=table.c[n].type) for n in names]
    derived = [
        _append(dialect, parent.c.ancestors, parent.c.id),
        parent.c.root_run_id,
        parent.c.depth + 1,
    ]
    source = select(*given_values, *derived).where(
        parent.c.tenant_id == bindparam("v_tenant_id"),
        parent.c.project_id == bindparam("v_project_id"),
        parent.c.id == bindparam("v_parent_run_id"),
    )
    stmt = insert(table).from_select([*names, *_DERIVED], source).returning(*table.c)
    return prepare(stmt, dialect)


def start_run(runtime: Db) -> Callable[..., Awaitable[AgentRunRow]]:
    """Curried: create a run; a child (``parent_run_id``) inherits its ancestors.

    Without a ``status`` the run starts ``running``; a running run gets ``started_at``
    and ``heartbeat_at`` of now unless given. Raises ``InvalidReference`` when the
    parent run does not exist in the project.
    """

    async def _start(*, scopes: ProjectScope, data: Data) -> AgentRunRow:
        async with writing(runtime, scopes) as access:
            values = RUNS.insert_values(access.target, data)
            if not given(data, "status"):
                values["status"] = "running"
            if values["status"] == "running":
                values["started_at"] = values["started_at"] or values["created_at"]
                values["heartbeat_at"] = values["heartbeat_at"] or values["created_at"]
            access.unit.describe(f"Start run {values['id']}")
            if values["parent_run_id"] is None:
                return await RUNS.insert_row(access, values)
            names = tuple(n for n in values if n not in _DERIVED)
            prepared = _child_insert(access.conn.dialect, names)
            with domain_errors(RUNS.label, RUNS.key_of(values)):
                rows = await run(access.conn, prepared, {f"v_{n}": values[n] for n in names})
            if not rows:
                raise InvalidReference(
                    "parent run does not exist in this project",
                    resource=RUNS.label,
                    key={"parent_run_id": values["parent_run_id"]},
                )
            return RUNS.row(prepared.row(rows[0]))

    return _start


async def _open_run(access: Access, run_id: str) -> AgentRunRow:
    # The run, locked until the transaction ends (PostgreSQL; SQLite writers are
    # serialised already); a missing run is NotFound, a finished one RunFinished.
    table = RUNS.table
    key = run_key(access, run_id)
    found = await access.conn.execute(
        select(table).where(key_condition(table, key)).with_for_update()
    )
    row = found.mappings().first()
    if row is None:
        raise NotFound("run not found", resource=RUNS.label, key={"run_id": run_id})
    current = RUNS.row(row)
    if current.status in FINAL_RUN_STATUSES:
        raise RunFinished(
            f"run {run_id} has already finished ({current.status})",
            resource=RUNS.label,
            key={"run_id": run_id},
            status=current.status,
        )
    return current


def heartbeat(runtime: Db) -> Callable[..., Awaitable[AgentRunRow]]:
    """Curried: record that a run is alive (a queued run becomes running).

    Raises ``NotFound`` for an unknown run and ``RunFinished`` for a finished one, so
    a runner whose run was failed by the sweep learns to stop.
    """

    async def _heartbeat(*, scopes: ProjectScope, run_id: str) -> AgentRunRow:
        table = RUNS.table
        async with writing(runtime, scopes) as access:
            key = run_key(access, run_id)
            now = utcnow()
            # Compare-and-set: only an open run takes the heartbeat.
            stmt = (
                update(table)
                .where(key_condition(table, key), table.c.status.in_(OPEN_RUN_STATUSES))
                .values(
                    heartbeat_at=now,
                    updated_at=now,
                    status="running",
                    started_at=func.coalesce(table.c.started_at, now),
                )
                .returning(*table.c)
            )
            row = (await access.conn.execute(stmt)).mappings().first()
            if row is None:
                # Not open: _open_run raises why (NotFound or RunFinished).
                await _open_run(access, run_id)
                raise NotFound("run not found", resource=RUNS.label, key={"run_id": run_id})
            return RUNS.row(row)

    return _heartbeat


async def _direct_amounts(access: Access, key: Mapping[str, Any]) -> tuple[Decimal, Decimal]:
    calls = sa_table(LlmCall)
    stmt = select(
        func.coalesce(func.sum(calls.c.cost), 0), func.coalesce(func.sum(calls.c.credits), 0)
    ).where(
        calls.c.tenant_id == key["tenant_id"],
        calls.c.project_id == key["project_id"],
        calls.c.run_id == key["id"],
    )
    cost, credits = (await access.conn.execute(stmt)).one()
    return Decimal(cost), Decimal(credits)


async def close_run(
    access: Access,
    current: AgentRunRow,
    *,
    status: str,
    error: RunError | None,
    now: datetime,
) -> AgentRunRow:
    """Finish an open, locked run: its direct amounts, its status and times, its open
    steps (failed unless it completed), and the roll-up to itself and every ancestor."""
    table = RUNS.table
    key = RUNS.key_of(current.model_dump())
    cost, credits = await _direct_amounts(access, key)
    started = current.started_at or current.created_at
    duration = max(0, int((now - started).total_seconds() * 1000))
    stmt = (
        update(table)
        .where(key_condition(table, key), table.c.status.in_(OPEN_RUN_STATUSES))
        .values(
            status=status,
            error=None if error is None else error.model_dump(mode="json"),
            finished_at=now,
            duration_ms=duration,
            cost=cost,
            credits=credits,
            updated_at=now,
        )
        .returning(table.c.id)
    )
    if (await access.conn.execute(stmt)).first() is None:
        raise RunFinished("run has already finished", resource=RUNS.label, key=key)
    if status != "completed":
        steps = STEPS.table
        await access.conn.execute(
            update(steps)
            .where(
                steps.c.tenant_id == key["tenant_id"],
                steps.c.project_id == key["project_id"],
                steps.c.run_id == key["id"],
                steps.c.status == "running",
            )
            .values(status="failed", finished_at=now, updated_at=now)
        )
    await _roll_up(access, key, [*current.ancestors, current.id], cost, credits)
    final = await RUNS.fetch(access, key)
    if final is None:  # the run is locked by this transaction: it cannot have gone
        raise NotFound("run not found", resource=RUNS.label, key=key)
    return final


async def _roll_up(
    access: Access, key: Mapping[str, Any], ids: Sequence[str], cost: Decimal, credits: Decimal
) -> None:
    if not cost and not credits:
        return
    table = RUNS.table
    scope = (table.c.tenant_id == key["tenant_id"], table.c.project_id == key["project_id"])
    if access.conn.dialect.name == "postgresql":
        # Lock the chain in one order, so runs of one tree finishing at once never wait
        # on each other in a cycle.
        await access.conn.execute(
            select(table.c.id)
            .where(*scope, table.c.id.in_(ids))
            .order_by(table.c.id)
            .with_for_update()
        )
    await access.conn.execute(
        update(table)
        .where(*scope, table.c.id.in_(ids))
        .values(
            subtree_cost=table.c.subtree_cost + cost,
            subtree_credits=table.c.subtree_credits + credits,
        )
    )


def finish_run(runtime: Db) -> Callable[..., Awaitable[AgentRunRow]]:
    """Curried: finish an open run as ``completed``, ``failed`` or ``cancelled``.

    Sets its direct cost and credits (the sums of its LLM calls) and adds them to the
    subtree totals of the run and of every ancestor, in one transaction. Raises
    ``NotFound`` for an unknown run and ``RunFinished`` when it has already finished.
    """

    async def _finish(
        *,
        scopes: ProjectScope,
        run_id: str,
        status: str = "completed",
        error: RunError | Mapping[str, Any] | None = None,
    ) -> AgentRunRow:
        if status not in FINAL_RUN_STATUSES:
            message = f"a run finishes as one of {', '.join(FINAL_RUN_STATUSES)}"
            raise ValidationFailed(
                message,
                errors=[{"field": "status", "message": message, "type": "literal_error"}],
                resource=RUNS.label,
            )
        problem = _run_error(error)
        async with writing(runtime, scopes) as access:
            access.unit.describe(f"Finish run {run_id}")
            current = await _open_run(access, run_id)
            return await close_run(access, current, status=status, error=problem, now=utcnow())

    return _finish


def _run_error(error: RunError | Mapping[str, Any] | None) -> RunError | None:
    if error is None or isinstance(error, RunError):
        return error
    try:
        return RunError.model_validate(dict(error))
    except PydanticValidationError as exc:
        raise validation_failed(exc, RUNS.label, prefix="error") from exc


def _descends_from(dialect: Dialect, runs: Any, anchor: Any) -> ColumnElement[bool]:
    # A descendant has the anchor in its ancestor chain, at the anchor's depth.
    if dialect.name == "postgresql":
        element = runs.c.ancestors.op("->>")(cast(anchor.c.depth, Integer))
    else:
        element = func.json_extract(runs.c.ancestors, func.printf("$[%d]", anchor.c.depth))
    condition: ColumnElement[bool] = type_coerce(element, String) == anchor.c.id
    return condition


def run_tree(runtime: Db) -> Callable[..., Awaitable[list[AgentRunRow]]]:
    """Curried: a run and all its descendants (one query), parents before children.

    Raises ``NotFound`` when the run does not exist in the project.
    """

    async def _tree(*, scopes: ProjectScope, run_id: str) -> list[AgentRunRow]:
        table = RUNS.table
        runs = table.alias("r")
        anchor = table.alias("a")
        async with reading(runtime, scopes) as access:
            key = run_key(access, run_id)
            stmt = (
                select(runs)
                .join(
                    anchor,
                    and_(
                        anchor.c.tenant_id == runs.c.tenant_id,
                        anchor.c.project_id == runs.c.project_id,
                        anchor.c.root_run_id == runs.c.root_run_id,
                    ),
                )
                .where(
                    anchor.c.tenant_id == key["tenant_id"],
                    anchor.c.project_id == key["project_id"],
                    anchor.c.id == key["id"],
                    or_(
                        runs.c.id == anchor.c.id,
                        and_(
                            runs.c.depth > anchor.c.depth,
                            _descends_from(access.conn.dialect, runs, anchor),
                        ),
                    ),
                )
                .order_by(runs.c.depth, runs.c.created_at, runs.c.id)
            )
            found = (await access.conn.execute(stmt)).mappings().all()
        if not found:
            raise NotFound("run not found", resource=RUNS.label, key={"run_id": run_id})
        return [RUNS.row(r) for r in found]

    return _tree


# A run is created by starting it.
create_run = start_run
