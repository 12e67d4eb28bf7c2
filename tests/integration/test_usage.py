"""Usage reports equal a Python aggregation of the same LLM calls, for every grouping,
inside the time range and the scope only."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from agentfold_core.data_access.doors import writing
from agentfold_core.data_access.runtime.calls import LLM_CALLS
from agentfold_core.data_access.runtime.usage import GROUPS, TOKENS, usage_report
from agentfold_core.errors import ValidationFailed
from agentfold_core.scopes import ProjectScope, TenantScope
from tests.conftest import Ids
from tests.integration.test_runs import project, start
from tests.support.databases import TestDatabases

START = datetime(2030, 3, 1, tzinfo=UTC)
END = START + timedelta(days=3)
AGENTS = {"r-triage": "triage", "r-billing": "billing"}


async def log_calls(
    databases: TestDatabases, scope: ProjectScope, calls: Sequence[dict[str, Any]]
) -> None:
    """Insert calls with their own ``created_at`` (the call log as if recorded then)."""
    async with writing(databases.runtime, scope) as access:
        rows = []
        for call in calls:
            data = {k: v for k, v in call.items() if k not in ("created_at", "project_id")}
            values = LLM_CALLS.insert_values(access.target, data)
            values.update(created_at=call["created_at"], updated_at=call["created_at"])
            rows.append(values)
        await LLM_CALLS.insert_many(access, rows)


def make_calls(rng: random.Random, project_id: str, count: int) -> list[dict[str, Any]]:
    """Calls spread from a day before the range to a day after it."""
    calls = []
    for n in range(count):
        run_id = rng.choice(list(AGENTS))
        when = START + timedelta(minutes=rng.randint(-24 * 60, 4 * 24 * 60))
        calls.append(
            {
                "id": f"{project_id}-{n}",
                "project_id": project_id,
                "run_id": run_id,
                "provider": rng.choice(["openai", "anthropic"]),
                "model": rng.choice(["m-small", "m-large", "m-reasoning"]),
                **{t: rng.randint(0, 5000) for t in TOKENS},
                "cost": str(Decimal(rng.randint(0, 10**7)).scaleb(-9)),
                "credits": str(Decimal(rng.randint(0, 10**5)).scaleb(-2)),
                "created_at": when,
            }
        )
    # Both edges of the range: the start is in, the end is out.
    for suffix, when in (("start", START), ("end", END)):
        calls.append({**calls[0], "id": f"{project_id}-{suffix}", "created_at": when})
    return calls


def aggregate(calls: Sequence[dict[str, Any]], groups: Sequence[str]) -> list[dict[str, Any]]:
    """The report computed in Python."""
    names = {"day": "day", "project": "project_id", "agent": "agent_id"}
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    for call in calls:
        if not START <= call["created_at"] < END:
            continue
        values = {
            "day": call["created_at"].date(),
            "project": call["project_id"],
            "agent": AGENTS[call["run_id"]],
            "model": call["model"],
            "provider": call["provider"],
        }
        key = tuple(values[g] for g in groups)
        row = found.setdefault(
            key,
            {
                **{names.get(g, g): values[g] for g in groups},
                "calls": 0,
                **dict.fromkeys(TOKENS, 0),
                "cost": Decimal(0),
                "credits": Decimal(0),
            },
        )
        row["calls"] += 1
        for t in TOKENS:
            row[t] += call[t]
        row["cost"] += Decimal(call["cost"])
        row["credits"] += Decimal(call["credits"])
    return [found[k] for k in sorted(found)]


async def test_usage_report_equals_a_python_aggregation(databases: TestDatabases, ids: Ids) -> None:
    rng = random.Random(5)  # noqa: S311 - reproducible rows, not secrets
    mine = [
        await project(databases, ids.tenant, ids.project),
        await project(databases, ids.tenant, f"{ids.project}-2"),
    ]
    theirs = await project(databases, ids.other_tenant, ids.project)
    calls: dict[ProjectScope, list[dict[str, Any]]] = {}
    for scope in (*mine, theirs):
        for run_id, agent in AGENTS.items():
            await start(databases, scope, run_id, agent=agent)
        calls[scope] = make_calls(rng, scope.project_id, 40)
        await log_calls(databases, scope, calls[scope])

    report = usage_report(databases.runtime)
    tenant_calls = calls[mine[0]] + calls[mine[1]]
    for size in range(len(GROUPS) + 1):
        for groups in itertools.combinations(GROUPS, size):
            found = await report(
                scopes=TenantScope(ids.tenant), start=START, end=END, group_by=groups
            )
            expected = aggregate(tenant_calls, groups)
            assert [r.model_dump(exclude_none=True) for r in found] == expected, groups
    one = await report(scopes=mine[1], start=START, end=END, group_by=["model", "day"])
    assert [r.model_dump(exclude_none=True) for r in one] == aggregate(
        calls[mine[1]], ("day", "model")
    )
    empty = await report(
        scopes=mine[0], start=END + timedelta(days=30), end=END + timedelta(days=31)
    )
    assert empty == []


async def test_usage_report_rejects_bad_input(databases: TestDatabases, ids: Ids) -> None:
    report = usage_report(databases.runtime)
    scope = TenantScope(ids.tenant)
    with pytest.raises(ValidationFailed) as info:
        await report(scopes=scope, start=START, end=END, group_by=["week"])
    assert [e["field"] for e in info.value.errors] == ["group_by"]
    with pytest.raises(ValidationFailed) as info:
        await report(scopes=scope, start=END, end=START)
    assert [e["field"] for e in info.value.errors] == ["end"]
