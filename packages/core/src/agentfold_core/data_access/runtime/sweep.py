"""Stuck runs: running runs whose heartbeat is older than a setting.

``stuck_runs`` lists them across tenants without changing anything; ``sweep_stuck_runs``
fails them. The sweep is a compare-and-set per run (the run is locked and re-checked
in its own transaction), so several workers sweeping at once fail each run once, and a
heartbeat that arrives first saves its run. A failed run is closed like any finished
run: its cost rolls up to its ancestors and its open steps are marked failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, and_, func, or_, select

from agentfold_core.content import RunError
from agentfold_core.data_access.doors import Db, reading_system, writing
from agentfold_core.data_access.runtime.runs import RUNS, close_run, key_condition
from agentfold_core.db.types import utcnow
from agentfold_core.errors import ValidationFailed, field_error
from agentfold_core.scopes import ProjectScope

# How long a running run may go without a heartbeat before the sweep fails it.
DEFAULT_STALE_AFTER = timedelta(minutes=5)
DEFAULT_BATCH = 100


class StuckRun(BaseModel):
    """A running run whose last sign of life is older than the cut-off."""

    tenant_id: str
    project_id: str
    run_id: str
    agent_id: str
    last_seen: datetime


@dataclass
class SweepReport:
    """What a sweep failed."""

    failed: list[StuckRun] = field(default_factory=list)


def _cutoff(older_than: timedelta, now: datetime | None) -> datetime:
    if older_than <= timedelta(0):
        raise ValidationFailed(
            "older_than must be positive",
            errors=[field_error("older_than", "must be a positive duration", "range")],
        )
    return (now or utcnow()) - older_than


def _stale(cutoff: datetime, table: Any = None) -> ColumnElement[bool]:
    # A run that never beat counts from its start (or creation).
    runs = table if table is not None else RUNS.table
    return and_(
        runs.c.status == "running",
        or_(
            runs.c.heartbeat_at < cutoff,
            and_(
                runs.c.heartbeat_at.is_(None),
                func.coalesce(runs.c.started_at, runs.c.created_at) < cutoff,
            ),
        ),
    )


async def stuck_runs(
    runtime: Db,
    *,
    older_than: timedelta = DEFAULT_STALE_AFTER,
    now: datetime | None = None,
    limit: int = DEFAULT_BATCH,
) -> list[StuckRun]:
    """Running runs of every tenant without a heartbeat since ``older_than`` ago,
    stalest first; nothing is changed."""
    cutoff = _cutoff(older_than, now)
    table = RUNS.table
    last_seen = func.coalesce(table.c.heartbeat_at, table.c.started_at, table.c.created_at)
    stmt = (
        select(
            table.c.tenant_id,
            table.c.project_id,
            table.c.id.label("run_id"),
            table.c.agent_id,
            last_seen.label("last_seen"),
        )
        .where(_stale(cutoff))
        .order_by(last_seen, table.c.tenant_id, table.c.project_id, table.c.id)
        .limit(limit)
    )
    async with reading_system(runtime) as system:
        rows = (await system.conn.execute(stmt)).mappings().all()
    return [StuckRun.model_validate(dict(r)) for r in rows]


async def _fail(runtime: Db, run: StuckRun, cutoff: datetime, now: datetime) -> bool:
    table = RUNS.table
    scope = ProjectScope(run.tenant_id, run.project_id)
    async with writing(runtime, scope, message=f"Fail stuck run {run.run_id}") as access:
        key = RUNS.key(access.target, {"run_id": run.run_id})
        # Compare-and-set: still running and still stale, under the row lock.
        found = await access.conn.execute(
            select(table).where(key_condition(table, key), _stale(cutoff)).with_for_update()
        )
        row = found.mappings().first()
        if row is None:
            return False
        error = RunError(
            code="heartbeat_timeout",
            message=f"no heartbeat since {run.last_seen.isoformat()}; failed by the sweep",
        )
        await close_run(access, RUNS.row(row), status="failed", error=error, now=now)
    return True


async def sweep_stuck_runs(
    runtime: Db,
    *,
    older_than: timedelta = DEFAULT_STALE_AFTER,
    now: datetime | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> SweepReport:
    """Fail every running run without a heartbeat since ``older_than`` ago (marking
    its open steps failed and rolling its cost up), one transaction per run; safe to
    run in several workers at once. Reports the runs this call failed."""
    moment = now or utcnow()
    cutoff = _cutoff(older_than, moment)
    report = SweepReport()
    while True:
        batch = await stuck_runs(runtime, older_than=older_than, now=moment, limit=batch_size)
        failed = [run for run in batch if await _fail(runtime, run, cutoff, moment)]
        report.failed.extend(failed)
        # A batch that failed nothing was taken by another worker (or saved by
        # heartbeats): what is left is theirs.
        if len(batch) < batch_size or not failed:
            return report
