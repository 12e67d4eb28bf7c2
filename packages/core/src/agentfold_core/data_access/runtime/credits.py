"""Credits: grants to a tenant or one of its projects, and the ledger of operations.

A principal is the tenant (``TenantScope``: grants without a project) or one project
(``ProjectScope``). Every operation carries an ``operation_id``, unique per tenant: the
ledger row it writes first is the idempotency gate, so a repeated operation changes
nothing and returns what the first one did.

Consumption order (``allocate``): outstanding debt is repaid first from the live grants,
then the amount is drawn from live grants by priority (lower first), then earliest
expiry (grants without expiry last), then oldest; a shortfall becomes debt (a negative
remaining) on the last grant drawn. A grant is live while it has a positive remaining
and has not expired at the instant of the operation. A new grant first repays debt.

Concurrency: an operation locks its principal's grants (``FOR UPDATE`` in id order on
PostgreSQL; SQLite writers are serialised) before it reads them, so two operations on
one principal never both spend the same credits, and operations on different
principals never wait for each other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Table, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from agentfold_core.amounts import Amount
from agentfold_core.content import LedgerAllocation
from agentfold_core.data_access.crud import Entity
from agentfold_core.data_access.doors import Access, Db, reading, writing
from agentfold_core.db.integrity import domain_errors
from agentfold_core.db.runtime.schema import (
    CreditGrant,
    CreditGrantRow,
    CreditLedgerEntry,
    CreditLedgerEntryRow,
)
from agentfold_core.db.types import utcnow
from agentfold_core.errors import Conflict, InsufficientCredits, ValidationFailed, field_error
from agentfold_core.scopes import ProjectScope, TenantScope

CREDIT_GRANTS: Entity[CreditGrantRow] = Entity(
    CreditGrant, label="credit_grant", plural="credit_grants", path="credit-grants"
)
get_credit_grant = CREDIT_GRANTS.get
list_credit_grants = CREDIT_GRANTS.list

CREDIT_LEDGER: Entity[CreditLedgerEntryRow] = Entity(
    CreditLedgerEntry,
    label="credit_ledger_entry",
    plural="credit_ledger_entries",
    path="credit-ledger",
)
get_credit_ledger_entry = CREDIT_LEDGER.get
list_credit_ledger_entries = CREDIT_LEDGER.list

ZERO = Decimal(0)


# ---------------------------------------------------------------------- the order


@dataclass(frozen=True, slots=True)
class GrantState:
    """What the consumption order reads of one grant."""

    id: str
    remaining: Decimal
    priority: int
    expires_at: datetime | None
    created_at: datetime

    def live(self, at: datetime) -> bool:
        """Whether the grant can be drawn at ``at``: credit left and not expired."""
        return self.remaining > 0 and (self.expires_at is None or self.expires_at > at)


def consumption_order(grant: GrantState) -> tuple[Any, ...]:
    """Sort key: priority, then earliest expiry (none last), then oldest."""
    return (
        grant.priority,
        grant.expires_at is None,
        grant.expires_at or grant.created_at,
        grant.created_at,
        grant.id,
    )


def _age(grant: GrantState) -> tuple[datetime, str]:
    return (grant.created_at, grant.id)


@dataclass
class Allocation:
    """What an operation does to the grants: the change of each one's remaining."""

    changes: dict[str, Decimal] = field(default_factory=dict)
    debt: Decimal = ZERO

    def move(self, grant_id: str, delta: Decimal) -> None:
        """Add ``delta`` to a grant's change."""
        self.changes[grant_id] = self.changes.get(grant_id, ZERO) + delta

    def entries(self) -> list[LedgerAllocation]:
        """The non-zero changes, for the ledger."""
        return [LedgerAllocation(grant_id=g, amount=d) for g, d in self.changes.items() if d]


def allocate(grants: Sequence[GrantState], amount: Decimal, at: datetime) -> Allocation:
    """How consuming ``amount`` at ``at`` changes ``grants`` (a pure function).

    Raises ``InsufficientCredits`` when credit is short and no grant exists to carry
    the debt.
    """
    result = Allocation()
    left = {g.id: g.remaining for g in grants}
    live = sorted((g for g in grants if g.live(at)), key=consumption_order)
    last: str | None = None

    def draw(need: Decimal) -> Decimal:
        nonlocal last
        for grant in live:
            if need <= 0:
                break
            take = min(left[grant.id], need)
            if take > 0:
                left[grant.id] -= take
                result.move(grant.id, -take)
                need -= take
                last = grant.id
        return need

    debtors = sorted((g for g in grants if g.remaining < 0), key=_age)
    for debtor in debtors:
        owed = -left[debtor.id]
        repaid = owed - draw(owed)
        left[debtor.id] += repaid
        result.move(debtor.id, repaid)
    shortfall = draw(amount)
    if shortfall > 0:
        carrier = last or _debt_carrier(grants, debtors, at)
        result.move(carrier, -shortfall)
        result.debt = shortfall
    return result


def _debt_carrier(grants: Sequence[GrantState], debtors: Sequence[GrantState], at: datetime) -> str:
    # Nothing was drawn: the debt joins the grant already in debt (the newest), else the
    # last unexpired grant in consumption order, else the newest grant (the callers
    # always pass the principal's newest grant).
    if debtors:
        return debtors[-1].id
    unexpired = [g for g in grants if g.expires_at is None or g.expires_at > at]
    if unexpired:
        return sorted(unexpired, key=consumption_order)[-1].id
    if grants:
        return max(grants, key=_age).id
    raise InsufficientCredits("no credit grant to draw from or to carry the debt")


def repay(debtors: Sequence[GrantState], amount: Decimal) -> Allocation:
    """How a new grant of ``amount`` repays ``debtors``, oldest first (a pure function);
    ``debt`` is what it repaid."""
    result = Allocation()
    left = amount
    for debtor in sorted(debtors, key=_age):
        portion = min(-debtor.remaining, left)
        if portion <= 0:
            break
        result.move(debtor.id, portion)
        left -= portion
    result.debt = amount - left
    return result


# ---------------------------------------------------------------------- statements


def principal(scopes: TenantScope) -> str | None:
    """The project a scope's credits belong to, or ``None`` for the tenant's own."""
    return scopes.project_id if isinstance(scopes, ProjectScope) else None


def _of_principal(table: Table, tenant_id: str, project_id: str | None) -> list[Any]:
    column = table.c.project_id
    return [
        table.c.tenant_id == tenant_id,
        column.is_(None) if project_id is None else column == project_id,
    ]


def _state(row: Mapping[Any, Any]) -> GrantState:
    return GrantState(
        id=row["id"],
        remaining=row["remaining"],
        priority=row["priority"],
        expires_at=row["expires_at"],
        created_at=row["created_at"],
    )


async def _locked_grants(
    access: Access, project_id: str | None, *conditions: ColumnElement[bool]
) -> list[GrantState]:
    # Locked in id order, so operations on one principal queue instead of deadlocking.
    table = CREDIT_GRANTS.table
    stmt = (
        select(
            table.c.id, table.c.remaining, table.c.priority, table.c.expires_at, table.c.created_at
        )
        .where(*_of_principal(table, access.target.tenant_id, project_id), *conditions)
        .order_by(table.c.id)
        .with_for_update()
    )
    found = await access.conn.execute(stmt)
    return [_state(r) for r in found.mappings()]


async def _apply(access: Access, allocation: Allocation, now: datetime) -> None:
    table = CREDIT_GRANTS.table
    for grant_id, delta in allocation.changes.items():
        if delta:
            await access.conn.execute(
                update(table)
                .where(table.c.tenant_id == access.target.tenant_id, table.c.id == grant_id)
                .values(remaining=table.c.remaining + delta, updated_at=now)
            )


async def _record(access: Access, values: Mapping[str, Any]) -> bool:
    """Insert a ledger row unless its operation id is taken; whether it was inserted."""
    table = CREDIT_LEDGER.table
    module = postgresql if access.conn.dialect.name == "postgresql" else sqlite
    stmt = (
        module.insert(table)
        .values(dict(values))
        .on_conflict_do_nothing(index_elements=["tenant_id", "operation_id"])
        .returning(table.c.id)
    )
    with domain_errors(CREDIT_LEDGER.label, {"operation_id": values["operation_id"]}):
        inserted = (await access.conn.execute(stmt)).first()
    return inserted is not None


async def _recorded(access: Access, operation_id: str) -> CreditLedgerEntryRow:
    table = CREDIT_LEDGER.table
    found = await access.conn.execute(
        select(table).where(
            table.c.tenant_id == access.target.tenant_id, table.c.operation_id == operation_id
        )
    )
    return CREDIT_LEDGER.row(found.mappings().one())


def _same_operation(
    entry: CreditLedgerEntryRow, kind: str, project_id: str | None, amount: Decimal
) -> CreditLedgerEntryRow:
    # A repeated operation id must repeat the operation; anything else is a mistake.
    if (entry.kind, entry.project_id, entry.amount) != (kind, project_id, amount):
        message = "operation_id was already used for a different credit operation"
        raise Conflict(
            message,
            resource=CREDIT_LEDGER.label,
            key={"operation_id": entry.operation_id},
            errors=[field_error("operation_id", message, "operation_id_reused")],
        )
    return entry


def _operation_id(operation_id: str, resource: str) -> str:
    if not isinstance(operation_id, str) or not operation_id.strip():
        raise ValidationFailed(
            f"invalid {resource}: operation_id is required",
            errors=[field_error("operation_id", "must not be empty", "missing")],
            resource=resource,
        )
    return operation_id


def _positive(amount: Decimal, resource: str) -> None:
    if amount <= 0:
        raise ValidationFailed(
            f"invalid {resource}: amount must be positive",
            errors=[field_error("amount", "must be greater than 0", "greater_than")],
            resource=resource,
        )


# ---------------------------------------------------------------------- operations


def grant_credits(runtime: Db) -> Callable[..., Awaitable[CreditGrantRow]]:
    """Curried: grant credits to the scope's principal (idempotent by ``operation_id``).

    The new grant first repays the principal's debt; what is left is its remaining.
    ``at`` is the instant of the grant (default now); ``expires_at`` must be after it.
    """

    async def _grant(
        *,
        scopes: TenantScope,
        operation_id: str,
        amount: Decimal | str | int,
        type: str = "purchase",
        priority: int = 100,
        expires_at: datetime | str | None = None,
        at: datetime | None = None,
        properties: Mapping[str, Any] | None = None,
    ) -> CreditGrantRow:
        now = at or utcnow()
        project_id = principal(scopes)
        async with writing(runtime, scopes) as access:
            grant = CREDIT_GRANTS.insert_values(
                access.target,
                {
                    "operation_id": _operation_id(operation_id, CREDIT_GRANTS.label),
                    "project_id": project_id,
                    "amount": amount,
                    "remaining": 0,  # set below, once the debt it repays is known
                    "type": type,
                    "priority": priority,
                    "expires_at": expires_at,
                },
            )
            _positive(grant["amount"], CREDIT_GRANTS.label)
            if grant["expires_at"] is not None and grant["expires_at"] <= now:
                raise ValidationFailed(
                    "invalid credit_grant: it would expire before it is granted",
                    errors=[field_error("expires_at", "must be after the grant", "expired")],
                    resource=CREDIT_GRANTS.label,
                )
            debtors = await _locked_grants(access, project_id, CREDIT_GRANTS.table.c.remaining < 0)
            repaid = repay(debtors, grant["amount"])
            entry = CREDIT_LEDGER.insert_values(
                access.target,
                {
                    "operation_id": grant["operation_id"],
                    "kind": "grant",
                    "project_id": project_id,
                    "amount": grant["amount"],
                    "debt": repaid.debt,
                    "allocations": repaid.entries(),
                    "properties": properties,
                },
            )
            if not await _record(access, entry):
                recorded = await _recorded(access, grant["operation_id"])
                _same_operation(recorded, "grant", project_id, grant["amount"])
                table = CREDIT_GRANTS.table
                found = await access.conn.execute(
                    select(table).where(
                        table.c.tenant_id == access.target.tenant_id,
                        table.c.operation_id == grant["operation_id"],
                    )
                )
                return CREDIT_GRANTS.row(found.mappings().one())
            await _apply(access, repaid, now)
            grant.update(remaining=grant["amount"] - repaid.debt, created_at=now, updated_at=now)
            return await CREDIT_GRANTS.insert_row(access, grant)

    return _grant


def consume_credits(runtime: Db) -> Callable[..., Awaitable[CreditLedgerEntryRow]]:
    """Curried: consume credits of the scope's principal (idempotent by ``operation_id``).

    Returns the ledger entry: the amount, the debt the shortfall left, and the change
    to each grant. ``at`` is the instant of consumption (default now): grants expired
    by then are not drawn. Raises ``InsufficientCredits`` when the principal has no
    grant at all.
    """

    async def _consume(
        *,
        scopes: TenantScope,
        operation_id: str,
        amount: Decimal | str | int,
        at: datetime | None = None,
        properties: Mapping[str, Any] | None = None,
    ) -> CreditLedgerEntryRow:
        now = at or utcnow()
        project_id = principal(scopes)
        async with writing(runtime, scopes) as access:
            entry = CREDIT_LEDGER.insert_values(
                access.target,
                {
                    "operation_id": _operation_id(operation_id, CREDIT_LEDGER.label),
                    "kind": "consume",
                    "project_id": project_id,
                    "amount": amount,
                    "properties": properties,
                },
            )
            _positive(entry["amount"], CREDIT_LEDGER.label)
            table = CREDIT_GRANTS.table
            # Dead grants (nothing left, expired) can neither be drawn nor carry debt.
            # Dead grants (nothing left, expired) can neither be drawn nor carry debt,
            # except the newest, the carrier of last resort.
            newest = (
                select(table.c.id)
                .where(*_of_principal(table, access.target.tenant_id, project_id))
                .order_by(table.c.created_at.desc(), table.c.id.desc())
                .limit(1)
                .scalar_subquery()
            )
            grants = await _locked_grants(
                access,
                project_id,
                or_(
                    table.c.remaining != 0,
                    table.c.expires_at.is_(None),
                    table.c.expires_at > now,
                    table.c.id == newest,
                ),
            )
            allocation = allocate(grants, entry["amount"], now)
            entry.update(
                debt=allocation.debt,
                allocations=allocation.entries(),
                created_at=now,
                updated_at=now,
            )
            if not await _record(access, entry):
                recorded = await _recorded(access, entry["operation_id"])
                return _same_operation(recorded, "consume", project_id, entry["amount"])
            await _apply(access, allocation, now)
            return CREDIT_LEDGER.row(entry)

    return _consume


class TypeBalance(BaseModel):
    """The balance of one grant type."""

    remaining: Amount
    debt: Amount


class Balance(BaseModel):
    """A principal's credits at one instant: live remaining, debt, and their net."""

    total_remaining: Amount
    total_debt: Amount
    net_balance: Amount
    by_type: dict[str, TypeBalance]


def credit_balance(runtime: Db) -> Callable[..., Awaitable[Balance]]:
    """Curried: the scope's principal's balance at ``at`` (default now), per type too.

    Remaining counts live grants only (expired credit is gone); debt never expires.
    """

    async def _balance(*, scopes: TenantScope, at: datetime | None = None) -> Balance:
        now = at or utcnow()
        table = CREDIT_GRANTS.table
        live = (table.c.remaining > 0) & or_(table.c.expires_at.is_(None), table.c.expires_at > now)
        remaining = func.sum(_when(live, table.c.remaining))
        debt = func.sum(_when(table.c.remaining < 0, -table.c.remaining))
        async with reading(runtime, scopes) as access:
            stmt = (
                select(table.c.type, remaining, debt)
                .where(*_of_principal(table, access.target.tenant_id, principal(scopes)))
                .group_by(table.c.type)
            )
            rows = (await access.conn.execute(stmt)).all()
        by_type = {
            kind: TypeBalance(remaining=Decimal(r or 0), debt=Decimal(d or 0))
            for kind, r, d in rows
        }
        total_remaining = sum((b.remaining for b in by_type.values()), ZERO)
        total_debt = sum((b.debt for b in by_type.values()), ZERO)
        return Balance(
            total_remaining=total_remaining,
            total_debt=total_debt,
            net_balance=total_remaining - total_debt,
            by_type=by_type,
        )

    return _balance


def _when(condition: ColumnElement[bool], value: ColumnElement[Any]) -> ColumnElement[Any]:
    # NULL otherwise: SUM skips it.
    return case((condition, value))


balance = credit_balance
