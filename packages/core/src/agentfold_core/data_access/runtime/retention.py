"""Retention: each project's settings (on its ``project_metadata`` row) say how many
days it keeps run records, messages and events; ``enforce_retention`` deletes what is
older, in bounded batches (one short transaction each, so no long locks), and reports
what it removed.

Run records go by tree: a run tree whose root was created before the cut-off goes
whole, with the steps and calls of its runs. Messages and events go by their own age;
the feedback on a removed message goes with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, func, or_, select

from agentfold_core.data_access.crud import Entity
from agentfold_core.data_access.doors import Access, Db, reading_system, writing
from agentfold_core.data_access.runtime.calls import LLM_CALLS, TOOL_CALLS
from agentfold_core.data_access.runtime.conversations import EVENTS, FEEDBACK, MESSAGES
from agentfold_core.data_access.runtime.project_metadata import PROJECT_METADATA
from agentfold_core.data_access.runtime.runs import RUNS, STEPS, key_condition
from agentfold_core.db.types import utcnow
from agentfold_core.errors import ValidationFailed, field_error
from agentfold_core.scopes import ProjectScope

DEFAULT_BATCH = 500
# Children before parents, so each count is of rows this statement deletes itself.
_RUN_RECORDS: tuple[Entity[Any], ...] = (LLM_CALLS, TOOL_CALLS, STEPS)


@dataclass
class ProjectRemoval:
    """What retention removed from one project, by table."""

    tenant_id: str
    project_id: str
    removed: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, count: int) -> None:
        """Count ``count`` more rows of ``table``."""
        if count:
            self.removed[table] = self.removed.get(table, 0) + count


@dataclass
class RetentionReport:
    """What one enforcement removed, per project with anything removed."""

    projects: list[ProjectRemoval] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        """Rows removed per table over every project."""
        result: dict[str, int] = {}
        for project in self.projects:
            for table, count in project.removed.items():
                result[table] = result.get(table, 0) + count
        return result


@dataclass(frozen=True)
class _Policy:
    tenant_id: str
    project_id: str
    run_days: int | None
    message_days: int | None
    event_days: int | None


async def _policies(runtime: Db, tenant_id: str | None) -> list[_Policy]:
    table = PROJECT_METADATA.table
    stmt = select(
        table.c.tenant_id,
        table.c.id,
        table.c.retention_run_days,
        table.c.retention_message_days,
        table.c.retention_event_days,
    ).where(
        or_(
            table.c.retention_run_days.is_not(None),
            table.c.retention_message_days.is_not(None),
            table.c.retention_event_days.is_not(None),
        )
    )
    if tenant_id is not None:
        stmt = stmt.where(table.c.tenant_id == tenant_id)
    # Settings of every tenant: an operator task, before any tenant is known.
    async with reading_system(runtime) as system:
        rows = (await system.conn.execute(stmt.order_by(table.c.tenant_id, table.c.id))).all()
    return [_Policy(*row) for row in rows]


def _in_project(entity: Entity[Any], access: Access) -> ColumnElement[bool]:
    return key_condition(entity.table, entity.scope_key(access.target))


async def _delete_counted(access: Access, table: Table, *where: ColumnElement[bool]) -> int:
    # Counted before deleting: drivers do not count rows removed by cascades, and a
    # self-referencing table (nested tool calls) removes some rows by cascade.
    counted = await access.conn.execute(select(func.count()).select_from(table).where(*where))
    count = int(counted.scalar_one())
    if count:
        await access.conn.execute(delete(table).where(*where))
    return count


async def _run_batch(access: Access, cutoff: datetime, batch: int, removal: ProjectRemoval) -> bool:
    runs = RUNS.table
    scope = _in_project(RUNS, access)
    roots = (
        select(runs.c.id)
        .where(scope, runs.c.depth == 0, runs.c.created_at < cutoff)
        .order_by(runs.c.created_at, runs.c.id)
        .limit(batch)
        .with_for_update()
    )
    root_ids = list((await access.conn.execute(roots)).scalars())
    if not root_ids:
        return False
    # Every run of those trees, locked: no call can be recorded against them meanwhile.
    tree = select(runs.c.id).where(scope, runs.c.root_run_id.in_(root_ids)).with_for_update()
    run_ids = list((await access.conn.execute(tree)).scalars())
    for entity in _RUN_RECORDS:
        table = entity.table
        where = (_in_project(entity, access), table.c.run_id.in_(run_ids))
        count = await _delete_counted(access, table, *where)
        removal.add(entity.traits.name, count)
    count = await _delete_counted(access, runs, scope, runs.c.id.in_(run_ids))
    removal.add(RUNS.traits.name, count)
    return True


async def _aged_batch(
    access: Access,
    entity: Entity[Any],
    cutoff: datetime,
    batch: int,
    removal: ProjectRemoval,
    dependants: Sequence[tuple[Entity[Any], str]] = (),
) -> bool:
    table = entity.table
    scope = _in_project(entity, access)
    found = (
        select(table.c.id)
        .where(scope, table.c.created_at < cutoff)
        .order_by(table.c.created_at, table.c.id)
        .limit(batch)
    )
    ids = list((await access.conn.execute(found)).scalars())
    if not ids:
        return False
    for dependant, column in dependants:
        child = dependant.table
        where = (_in_project(dependant, access), child.c[column].in_(ids))
        count = await _delete_counted(access, child, *where)
        removal.add(dependant.traits.name, count)
    count = await _delete_counted(access, table, scope, table.c.id.in_(ids))
    removal.add(entity.traits.name, count)
    return True


async def _enforce_project(
    runtime: Db, policy: _Policy, now: datetime, batch: int
) -> ProjectRemoval:
    removal = ProjectRemoval(policy.tenant_id, policy.project_id)
    scope = ProjectScope(policy.tenant_id, policy.project_id)

    def cutoff(days: int) -> datetime:
        return now - timedelta(days=days)

    async def each_batch(step: Any) -> None:
        # One transaction per batch: locks last as long as one batch.
        while True:
            async with writing(runtime, scope, message="Retention") as access:
                more = await step(access)
            if not more:
                return

    if policy.run_days is not None:
        days = policy.run_days
        await each_batch(lambda access: _run_batch(access, cutoff(days), batch, removal))
    if policy.message_days is not None:
        days_m = policy.message_days
        await each_batch(
            lambda access: _aged_batch(
                access, MESSAGES, cutoff(days_m), batch, removal, ((FEEDBACK, "message_id"),)
            )
        )
    if policy.event_days is not None:
        days_e = policy.event_days
        await each_batch(lambda access: _aged_batch(access, EVENTS, cutoff(days_e), batch, removal))
    return removal


async def enforce_retention(
    runtime: Db,
    *,
    now: datetime | None = None,
    batch_size: int = DEFAULT_BATCH,
    tenant_id: str | None = None,
) -> RetentionReport:
    """Delete what each project's retention settings no longer keep (every tenant, or
    one), in batches of at most ``batch_size`` rows (run trees) per transaction."""
    if not 1 <= batch_size <= 100_000:
        raise ValidationFailed(
            "batch_size must be 1..100000",
            errors=[field_error("batch_size", "must be 1..100000", "range")],
        )
    moment = now or utcnow()
    report = RetentionReport()
    for policy in await _policies(runtime, tenant_id):
        removal = await _enforce_project(runtime, policy, moment, batch_size)
        if removal.removed:
            report.projects.append(removal)
    return report
