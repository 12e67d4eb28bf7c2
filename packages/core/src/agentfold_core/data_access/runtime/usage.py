"""Usage reports over the LLM call log: tokens, cost, credits and calls over a time
range, grouped by any of day, project, agent, model and provider, in one query."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.engine import Dialect

from agentfold_core.amounts import Amount
from agentfold_core.data_access.doors import Db, reading
from agentfold_core.data_access.runtime.calls import LLM_CALLS
from agentfold_core.data_access.runtime.runs import RUNS
from agentfold_core.errors import ValidationFailed, field_error
from agentfold_core.scopes import ProjectScope, TenantScope

GROUPS = ("day", "project", "agent", "model", "provider")
TOKENS = (
    "input_tokens",
    "cache_write_tokens",
    "cache_read_tokens",
    "reasoning_tokens",
    "output_tokens",
)


class UsageRow(BaseModel):
    """One group of a usage report; the columns not grouped by are ``None``."""

    day: date | None = None
    project_id: str | None = None
    agent_id: str | None = None
    model: str | None = None
    provider: str | None = None
    calls: int
    input_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    reasoning_tokens: int
    output_tokens: int
    cost: Amount
    credits: Amount


def _day(dialect: Dialect, column: Any) -> ColumnElement[Any]:
    # The UTC calendar day of a timestamp, as ``YYYY-MM-DD`` text on both backends.
    if dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.date(column)


def _check(start: datetime, end: datetime, group_by: Sequence[str]) -> tuple[str, ...]:
    unknown = [g for g in group_by if g not in GROUPS]
    errors = [
        field_error("group_by", f"unknown group {g!r}; use any of {', '.join(GROUPS)}", "enum")
        for g in unknown
    ]
    if not isinstance(start, datetime) or not isinstance(end, datetime) or end <= start:
        errors.append(field_error("end", "must be a time after start", "range"))
    if errors:
        raise ValidationFailed("invalid usage report", errors=errors, resource="usage")
    # Each group once, in the canonical order.
    return tuple(g for g in GROUPS if g in group_by)


def _statement(
    dialect: Dialect, scopes: TenantScope, start: datetime, end: datetime, groups: Sequence[str]
) -> Select[Any]:
    calls = LLM_CALLS.table
    runs = RUNS.table
    keys: dict[str, ColumnElement[Any]] = {
        "day": _day(dialect, calls.c.created_at),
        "project": calls.c.project_id,
        "agent": runs.c.agent_id,
        "model": calls.c.model,
        "provider": calls.c.provider,
    }
    grouped = [keys[g].label(g) for g in groups]
    stmt = select(
        *grouped,
        func.count().label("calls"),
        *(func.coalesce(func.sum(calls.c[t]), 0).label(t) for t in TOKENS),
        func.sum(calls.c.cost).label("cost"),
        func.sum(calls.c.credits).label("credits"),
    )
    if "agent" in groups:
        # The agent is the run's: joined by the run's key (one index lookup per call).
        stmt = stmt.select_from(
            calls.join(
                runs,
                and_(
                    runs.c.tenant_id == calls.c.tenant_id,
                    runs.c.project_id == calls.c.project_id,
                    runs.c.id == calls.c.run_id,
                ),
            )
        )
    stmt = stmt.where(
        calls.c.tenant_id == scopes.tenant_id,
        calls.c.created_at >= start,
        calls.c.created_at < end,
    )
    if isinstance(scopes, ProjectScope):
        stmt = stmt.where(calls.c.project_id == scopes.project_id)
    if grouped:
        stmt = stmt.group_by(*(keys[g] for g in groups)).order_by(*(keys[g] for g in groups))
    return stmt


_COLUMNS = {"day": "day", "project": "project_id", "agent": "agent_id", "model": "model"}


def usage_report(runtime: Db) -> Callable[..., Awaitable[list[UsageRow]]]:
    """Curried: usage of the scope (a tenant, or one project) from ``start`` up to
    ``end`` (exclusive), grouped by ``group_by`` (any of day, project, agent, model,
    provider; none: one total row). Days are UTC days."""

    async def _report(
        *,
        scopes: TenantScope,
        start: datetime,
        end: datetime,
        group_by: Sequence[str] = ("day",),
    ) -> list[UsageRow]:
        groups = _check(start, end, group_by)
        async with reading(runtime, scopes) as access:
            stmt = _statement(access.conn.dialect, scopes, start, end, groups)
            rows = (await access.conn.execute(stmt)).mappings().all()
        report = []
        for row in rows:
            if not row["calls"]:
                continue  # an ungrouped report of no calls
            values: dict[str, Any] = {_COLUMNS.get(g, g): row[g] for g in groups}
            if "day" in values:
                values["day"] = date.fromisoformat(str(values["day"]))
            values.update({t: int(row[t]) for t in TOKENS})
            values.update(
                calls=int(row["calls"]),
                cost=Decimal(row["cost"] or 0),
                credits=Decimal(row["credits"] or 0),
            )
            report.append(UsageRow.model_validate(values))
        return report

    return _report
