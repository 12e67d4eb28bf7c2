"""Credits: idempotent grants and consumptions, the consumption order against a plain
Python model, expiry at the instant of consumption, debt, and concurrent consumers."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentfold_core.data_access.runtime.credits import (
    consume_credits,
    credit_balance,
    grant_credits,
    list_credit_grants,
    list_credit_ledger_entries,
)
from agentfold_core.data_access.runtime.tenants import create_tenant
from agentfold_core.db.engine import Database, create_database
from agentfold_core.errors import (
    Conflict,
    InsufficientCredits,
    InvalidReference,
    ValidationFailed,
)
from agentfold_core.pagination import MAX_LIMIT
from agentfold_core.scopes import ProjectScope, TenantScope
from agentfold_core.settings import DatabaseSettings
from tests.conftest import Ids
from tests.integration.test_runs import project
from tests.support.databases import TestDatabases

T0 = datetime(2030, 1, 1, tzinfo=UTC)


async def tenant(databases: TestDatabases, tenant_id: str | None = None) -> TenantScope:
    """A new tenant (the principal of its own grants)."""
    scope = TenantScope(tenant_id or f"c-{secrets.token_hex(5)}")
    await create_tenant(databases.runtime)(scopes=scope, data={"name": "credits"})
    return scope


async def remaining(databases: TestDatabases, scope: TenantScope) -> dict[str, Decimal]:
    """Each grant's remaining balance, by grant id."""
    page = await list_credit_grants(databases.runtime)(scopes=scope, limit=MAX_LIMIT)
    return {g.id: g.remaining for g in page.data}


# ---------------------------------------------------------------------- the model


@dataclass
class ModelGrant:
    """A grant as the model sees it."""

    id: str
    remaining: Decimal
    priority: int
    expires_at: datetime | None
    created_at: datetime


class Model:
    """The credit rules written out plainly, one grant at a time."""

    def __init__(self) -> None:
        self.grants: list[ModelGrant] = []

    def usable(self, at: datetime) -> list[ModelGrant]:
        """Grants that can be drawn at ``at``, in consumption order."""
        found = [
            g
            for g in self.grants
            if g.remaining > 0 and (g.expires_at is None or g.expires_at > at)
        ]
        # Lower priority first; then the earliest expiry, grants without one last;
        # then the oldest.
        return sorted(
            found,
            key=lambda g: (
                g.priority,
                0 if g.expires_at is not None else 1,
                g.expires_at or T0,
                g.created_at,
                g.id,
            ),
        )

    def in_debt(self) -> list[ModelGrant]:
        """Grants with a negative remaining, oldest first."""
        return sorted(
            (g for g in self.grants if g.remaining < 0), key=lambda g: (g.created_at, g.id)
        )

    def grant(self, grant: ModelGrant) -> Decimal:
        """Add a grant, repaying debt first; the debt it repaid."""
        repaid = Decimal(0)
        for debtor in self.in_debt():
            portion = min(-debtor.remaining, grant.remaining)
            debtor.remaining += portion
            grant.remaining -= portion
            repaid += portion
        self.grants.append(grant)
        return repaid

    def consume(self, amount: Decimal, at: datetime) -> Decimal:
        """Consume ``amount`` at ``at``; the debt the shortfall left."""
        last = None
        for debtor in self.in_debt():
            for source in self.usable(at):
                portion = min(source.remaining, -debtor.remaining)
                source.remaining -= portion
                debtor.remaining += portion
                last = source
                if debtor.remaining == 0:
                    break
        need = amount
        for source in self.usable(at):
            if need == 0:
                break
            portion = min(source.remaining, need)
            source.remaining -= portion
            need -= portion
            last = source
        if need == 0:
            return Decimal(0)
        if last is None:
            debtors = self.in_debt()
            unexpired = [g for g in self.grants if g.expires_at is None or g.expires_at > at]
            if debtors:
                last = debtors[-1]
            elif unexpired:
                last = sorted(
                    unexpired,
                    key=lambda g: (
                        g.priority,
                        0 if g.expires_at is not None else 1,
                        g.expires_at or T0,
                        g.created_at,
                        g.id,
                    ),
                )[-1]
            else:
                last = max(self.grants, key=lambda g: (g.created_at, g.id))
        last.remaining -= need
        return need

    def balance(self, at: datetime) -> tuple[Decimal, Decimal]:
        """Live remaining and debt at ``at``."""
        live = sum((g.remaining for g in self.usable(at)), Decimal(0))
        debt = sum((-g.remaining for g in self.grants if g.remaining < 0), Decimal(0))
        return live, debt


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(50), places=2)
grant_ops = st.tuples(
    st.just("grant"),
    amounts,
    st.integers(min_value=0, max_value=2),
    st.one_of(st.none(), st.integers(min_value=1, max_value=8)),
    st.integers(min_value=0, max_value=2),
)
consume_ops = st.tuples(
    st.just("consume"),
    amounts,
    st.just(0),
    st.none(),
    st.integers(min_value=0, max_value=3),
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(st.one_of(grant_ops, consume_ops), min_size=1, max_size=12))
async def test_consumption_order_equals_the_model(
    databases: TestDatabases,
    ops: list[tuple[str, Decimal, int, int | None, int]],
) -> None:
    scope = await tenant(databases)
    runtime = databases.runtime
    model = Model()
    at = T0
    for n, (kind, amount, priority, expires_in, advance) in enumerate(ops):
        at += timedelta(minutes=advance)
        if kind == "grant":
            expires = None if expires_in is None else at + timedelta(minutes=expires_in)
            row = await grant_credits(runtime)(
                scopes=scope,
                operation_id=f"op-{n}",
                amount=amount,
                priority=priority,
                expires_at=expires,
                at=at,
            )
            repaid = model.grant(ModelGrant(row.id, amount, priority, expires, at))
            assert row.remaining == amount - repaid
        elif model.grants:
            entry = await consume_credits(runtime)(
                scopes=scope, operation_id=f"op-{n}", amount=amount, at=at
            )
            assert entry.debt == model.consume(amount, at)
            assert -sum((a.amount for a in entry.allocations), Decimal(0)) == amount
        else:
            with pytest.raises(InsufficientCredits):
                await consume_credits(runtime)(
                    scopes=scope, operation_id=f"op-{n}", amount=amount, at=at
                )
        assert await remaining(databases, scope) == {g.id: g.remaining for g in model.grants}
    found = await credit_balance(runtime)(scopes=scope, at=at)
    live, debt = model.balance(at)
    assert (found.total_remaining, found.total_debt) == (live, debt)
    assert found.net_balance == live - debt


# ---------------------------------------------------------------------- behaviour


async def test_a_repeated_operation_changes_nothing(databases: TestDatabases) -> None:
    scope = await tenant(databases)
    runtime = databases.runtime
    first = await grant_credits(runtime)(scopes=scope, operation_id="g1", amount="10", at=T0)
    again = await grant_credits(runtime)(scopes=scope, operation_id="g1", amount="10", at=T0)
    assert again == first
    spent = await consume_credits(runtime)(scopes=scope, operation_id="c1", amount="4", at=T0)
    replay = await consume_credits(runtime)(scopes=scope, operation_id="c1", amount="4", at=T0)
    assert replay.id == spent.id
    assert await remaining(databases, scope) == {first.id: Decimal(6)}
    for call in (
        grant_credits(runtime)(scopes=scope, operation_id="g1", amount="11", at=T0),
        grant_credits(runtime)(scopes=scope, operation_id="c1", amount="4", at=T0),
        consume_credits(runtime)(scopes=scope, operation_id="c1", amount="5", at=T0),
        consume_credits(runtime)(scopes=scope, operation_id="g1", amount="10", at=T0),
    ):
        with pytest.raises(Conflict):
            await call
    assert await remaining(databases, scope) == {first.id: Decimal(6)}
    ledger = await list_credit_ledger_entries(runtime)(scopes=scope)
    assert sorted(e.operation_id for e in ledger.data) == ["c1", "g1"]


async def test_debt_is_repaid_by_the_next_grant(databases: TestDatabases) -> None:
    scope = await tenant(databases)
    runtime = databases.runtime
    first = await grant_credits(runtime)(scopes=scope, operation_id="g1", amount="5", at=T0)
    spent = await consume_credits(runtime)(scopes=scope, operation_id="c1", amount="8", at=T0)
    assert spent.debt == Decimal(3)
    assert await remaining(databases, scope) == {first.id: Decimal(-3)}
    owed = await credit_balance(runtime)(scopes=scope, at=T0)
    assert (owed.total_remaining, owed.total_debt, owed.net_balance) == tuple(
        Decimal(n) for n in (0, 3, -3)
    )
    second = await grant_credits(runtime)(scopes=scope, operation_id="g2", amount="10", at=T0)
    assert second.remaining == Decimal(7)
    assert await remaining(databases, scope) == {first.id: Decimal(0), second.id: Decimal(7)}
    now = await credit_balance(runtime)(scopes=scope, at=T0)
    assert (now.total_remaining, now.total_debt, now.net_balance) == tuple(
        Decimal(n) for n in (7, 0, 7)
    )
    assert now.by_type["purchase"].remaining == Decimal(7)


async def test_expiry_is_honoured_at_the_instant_of_consumption(
    databases: TestDatabases,
) -> None:
    scope = await tenant(databases)
    runtime = databases.runtime
    ends = T0 + timedelta(hours=1)
    short = await grant_credits(runtime)(
        scopes=scope, operation_id="g1", amount="10", type="free", expires_at=ends, at=T0
    )
    lasting = await grant_credits(runtime)(
        scopes=scope, operation_id="g2", amount="10", type="admin", at=T0
    )
    # The expiring grant goes first (same priority, earlier expiry), until it expires.
    before = ends - timedelta(microseconds=1)
    await consume_credits(runtime)(scopes=scope, operation_id="c1", amount="4", at=before)
    await consume_credits(runtime)(scopes=scope, operation_id="c2", amount="4", at=ends)
    assert await remaining(databases, scope) == {short.id: Decimal(6), lasting.id: Decimal(6)}
    at_end = await credit_balance(runtime)(scopes=scope, at=ends)
    assert at_end.total_remaining == Decimal(6)
    assert set(at_end.by_type) == {"free", "admin"}
    assert at_end.by_type["free"].remaining == 0
    earlier = await credit_balance(runtime)(scopes=scope, at=before)
    assert earlier.total_remaining == Decimal(12)


async def test_bad_input_names_the_field(databases: TestDatabases) -> None:
    scope = await tenant(databases)
    runtime = databases.runtime
    cases: list[tuple[str, dict[str, object]]] = [
        ("amount", {"amount": "0"}),
        ("amount", {"amount": "-1"}),
        ("amount", {"amount": "abc"}),
        ("amount", {"amount": "0.0000000001"}),
        ("type", {"type": "gift"}),
        ("priority", {"priority": -1}),
        ("expires_at", {"expires_at": T0 - timedelta(seconds=1)}),
        ("operation_id", {"operation_id": ""}),
    ]
    for field, change in cases:
        arguments: dict[str, object] = {"operation_id": "g", "amount": "1", "at": T0, **change}
        with pytest.raises(ValidationFailed) as info:
            await grant_credits(runtime)(scopes=scope, **arguments)
        assert [e["field"] for e in info.value.errors] == [field], change
    consume_cases: list[tuple[str, dict[str, object]]] = [
        ("amount", {"amount": "0"}),
        ("operation_id", {"operation_id": ""}),
    ]
    for field, change in consume_cases:
        arguments = {"operation_id": "c", "amount": "1", "at": T0, **change}
        with pytest.raises(ValidationFailed) as info:
            await consume_credits(runtime)(scopes=scope, **arguments)
        assert [e["field"] for e in info.value.errors] == [field], change
    assert await remaining(databases, scope) == {}


async def test_principals_are_apart(databases: TestDatabases, ids: Ids) -> None:
    scoped = await project(databases, ids.tenant, ids.project)
    runtime = databases.runtime
    whole = TenantScope(ids.tenant)
    await grant_credits(runtime)(scopes=whole, operation_id="g-tenant", amount="10", at=T0)
    with pytest.raises(InsufficientCredits):
        await consume_credits(runtime)(scopes=scoped, operation_id="c1", amount="1", at=T0)
    await grant_credits(runtime)(scopes=scoped, operation_id="g-project", amount="3", at=T0)
    await consume_credits(runtime)(scopes=scoped, operation_id="c2", amount="1", at=T0)
    assert (await credit_balance(runtime)(scopes=whole, at=T0)).total_remaining == 10
    assert (await credit_balance(runtime)(scopes=scoped, at=T0)).total_remaining == 2
    # Another tenant's project of the same id is not a principal here.
    stranger = ProjectScope(ids.other_tenant, ids.project)
    await tenant(databases, ids.other_tenant)
    with pytest.raises(InvalidReference):
        await grant_credits(runtime)(scopes=stranger, operation_id="g-x", amount="1", at=T0)
    assert (await credit_balance(runtime)(scopes=stranger, at=T0)).total_remaining == 0


async def test_concurrent_consumers_never_overspend(databases: TestDatabases) -> None:
    scope = await tenant(databases)
    # Its own small pool: the consumers queue for five connections (the database server
    # is shared), so they still contend for the principal's locks in the database.
    runtime = create_database(
        databases.runtime_url, "runtime", DatabaseSettings(pool_size=5, max_overflow=0)
    )
    try:
        await consume_concurrently(databases, runtime, scope)
    finally:
        await runtime.dispose()


async def consume_concurrently(
    databases: TestDatabases, runtime: Database, scope: TenantScope
) -> None:
    """50 consumers of one principal at once, ten of them twice."""
    grants = [
        await grant_credits(runtime)(scopes=scope, operation_id=f"g{n}", amount=amount, at=T0)
        for n, amount in enumerate(("60", "40"))
    ]
    consumers = 50
    price = Decimal(3)
    # Every consumer once, and ten of them a second time with the same operation id.
    operations = [f"c{n}" for n in range(consumers)] + [f"c{n}" for n in range(10)]
    entries = await asyncio.gather(
        *(
            consume_credits(runtime)(scopes=scope, operation_id=op, amount=price, at=T0)
            for op in operations
        )
    )
    by_operation: dict[str, set[str]] = {}
    for op, entry in zip(operations, entries, strict=True):
        by_operation.setdefault(op, set()).add(entry.id)
    assert all(len(found) == 1 for found in by_operation.values())
    granted = sum((Decimal(g.amount) for g in grants), Decimal(0))
    spent = price * consumers
    left = await remaining(databases, scope)
    # Exactly what was consumed left the grants: nothing lost, nothing spent twice.
    assert granted - sum(left.values(), Decimal(0)) == spent
    found = await credit_balance(runtime)(scopes=scope, at=T0)
    assert found.total_debt == spent - granted
    assert found.total_remaining == 0
    recorded = sum((e.debt for e in {e.id: e for e in entries}.values()), Decimal(0))
    assert recorded == found.total_debt
    ledger = await list_credit_ledger_entries(runtime)(scopes=scope, limit=MAX_LIMIT)
    assert len([e for e in ledger.data if e.kind == "consume"]) == consumers
