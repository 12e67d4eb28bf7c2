"""Lists read their scope through the list-order index, newest first, without a sort.

The data layer's list query filters by the table's list scope and orders by
``created_at DESC, id DESC``; ``ix_<table>_list`` (``db.list_order``) serves both. These
tests capture the statements the public ``list_*`` functions really send, check which
columns they filter by, and ask each backend for its plan.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from agentfold_core.data_access.doors import transaction
from agentfold_core.data_access.manage.agents import AGENTS
from agentfold_core.data_access.manage.projects import PROJECTS
from agentfold_core.db.list_order import list_index_columns, list_index_name, list_scope_columns
from agentfold_core.db.types import utcnow
from agentfold_core.scopes import ProjectScope
from tests.conftest import Ids
from tests.support.databases import TestDatabases
from tests.support.entities import AnyEntity, all_entities, functions
from tests.support.graph import Context, Graph, scope_for
from tests.support.statements import captured


def _filtered_columns(sql: str, table: str) -> set[str]:
    where = re.split(r"\s+ORDER BY\s+", re.split(r"\s+WHERE\s+", sql, maxsplit=1)[1])[0]
    return set(re.findall(rf"\b{table}\.(\w+) = ", where))


async def _plan(conn: AsyncConnection, sql: str, parameters: Any) -> Any:
    if conn.dialect.name == "postgresql":
        result = await conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}", parameters)
        return result.scalar_one()[0]["Plan"]
    result = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", parameters)
    return [str(row[-1]) for row in result]


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _assert_index_order_on_postgresql(plan: dict[str, Any], index: str) -> None:
    nodes = list(_nodes(plan))
    kinds = [node["Node Type"] for node in nodes]
    assert not {"Sort", "Incremental Sort"} & set(kinds), kinds
    scans = [n for n in nodes if n["Node Type"] in ("Index Scan", "Index Only Scan")]
    # The page reads the list index backwards; the total (a subquery evaluated once)
    # counts over whichever index of the scope the planner likes, never the table.
    assert (index, "Backward") in {(n["Index Name"], n["Scan Direction"]) for n in scans}, nodes
    assert not {"Seq Scan"} & set(kinds), kinds


LISTED = [
    pytest.param(entity, id=entity.traits.name)
    for entity in all_entities()
    if list_index_columns(entity.table, entity.traits) is not None
]


@pytest.mark.parametrize("entity", LISTED)
async def test_list_filters_by_the_index_columns_and_can_use_the_index(
    databases: TestDatabases, ids: Ids, entity: AnyEntity
) -> None:
    graph = Graph(databases)
    db = graph.db(entity)
    scope = scope_for(entity, Context(ids.tenant, ids.project))
    with captured(db) as statements:
        await functions(entity).list(db)(scopes=scope)
    table = entity.traits.name
    sql, parameters = next(s for s in statements if re.search(rf"FROM {table}\b", s[0]))
    # The data layer filters by exactly the columns the index starts with.
    assert _filtered_columns(sql, table) == set(list_scope_columns(entity.traits))

    index = list_index_name(table)
    async with db.read(snapshot=True) as conn:
        if conn.dialect.name == "postgresql":
            # Empty tables: forbid the alternatives, so the plan shows what the index can do.
            await conn.execute(text("SET LOCAL enable_seqscan = off"))
            await conn.execute(text("SET LOCAL enable_sort = off"))
            _assert_index_order_on_postgresql(await _plan(conn, sql, parameters), index)
        else:
            plan = await _plan(conn, sql, parameters)
            assert any(f"INDEX {index} " in line for line in plan), plan
            assert not any("TEMP B-TREE" in line for line in plan), plan


@pytest.mark.parametrize("entity", LISTED)
async def test_a_page_in_list_order_needs_no_sort(
    databases: TestDatabases, ids: Ids, entity: AnyEntity
) -> None:
    """``SELECT ... WHERE <list scope> ORDER BY created_at DESC, id DESC LIMIT 10``."""
    db = Graph(databases).db(entity)
    table = entity.table
    scope = list_scope_columns(entity.traits)
    stmt = (
        select(table)
        .where(*(table.c[c] == f"v-{c}" for c in scope))
        .order_by(table.c.created_at.desc(), table.c.id.desc())
        .limit(10)
    )
    async with db.read(snapshot=True) as conn:
        compiled = stmt.compile(conn.sync_connection)
        parameters: Any = compiled.params
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SET LOCAL enable_seqscan = off"))
            await conn.execute(text("SET LOCAL enable_sort = off"))
            plan = await _plan(conn, str(compiled), parameters)
            _assert_index_order_on_postgresql(plan, list_index_name(table.name))
        else:
            positional = tuple(parameters[name] for name in compiled.positiontup or ())
            plan = await _plan(conn, str(compiled), positional)
            assert any(f"INDEX {list_index_name(table.name)} " in line for line in plan), plan
            assert not any("TEMP B-TREE" in line for line in plan), plan


async def _many_agents(databases: TestDatabases, ids: Ids, projects: int, each: int) -> None:
    now = utcnow()
    project_rows = [
        {
            "tenant_id": ids.tenant,
            "id": f"{ids.project}-{p}",
            "branch": "main",
            "name": "P",
            "created_at": now,
            "updated_at": now,
        }
        for p in range(projects)
    ]
    agent_rows = [
        {
            "tenant_id": ids.tenant,
            "project_id": f"{ids.project}-{i % projects}",
            "branch": "main",
            "id": f"agent-{i:05d}",
            "name": "A",
            "created_at": now - timedelta(seconds=i),
            "updated_at": now,
            "execution_mode": "classic",
        }
        for i in range(projects * each)
    ]
    async with transaction(databases.manage, message="many agents") as unit:
        conn = unit.conn
        await conn.execute(insert(PROJECTS.table), project_rows)
        await conn.execute(insert(AGENTS.table), agent_rows)
        if conn.dialect.name == "postgresql":
            await conn.execute(text("ANALYZE projects, agents"))
        else:
            await conn.execute(text("ANALYZE"))


async def test_listing_agents_reads_the_index_backwards_on_real_statistics(
    databases: TestDatabases, ids: Ids
) -> None:
    """With data and fresh statistics, no planner hints: the agents list of one project
    reads ``ix_agents_list`` backwards and sorts nothing."""
    await _many_agents(databases, ids, projects=8, each=400)
    scope = ProjectScope(ids.tenant, f"{ids.project}-3")
    manage = databases.manage
    with captured(manage) as statements:
        page = await AGENTS.list(manage)(scopes=scope, limit=10)
    assert page.pagination.total == 400
    assert [a.id for a in page.data] == [f"agent-{i:05d}" for i in range(3, 83, 8)]
    sql, parameters = next(s for s in statements if re.search(r"FROM agents\b", s[0]))

    table = AGENTS.table
    brief = (
        select(table)
        .where(
            table.c.tenant_id == scope.tenant_id,
            table.c.project_id == scope.project_id,
            table.c.branch == scope.ref,
        )
        .order_by(table.c.created_at.desc(), table.c.id.desc())
        .limit(10)
    )
    async with manage.read() as conn:
        compiled = brief.compile(conn.sync_connection)
        if conn.dialect.name == "postgresql":
            for plan in (
                await _plan(conn, sql, parameters),
                await _plan(conn, str(compiled), compiled.params),
            ):
                _assert_index_order_on_postgresql(plan, "ix_agents_list")
        else:
            positional = tuple(compiled.params[n] for n in compiled.positiontup or ())
            plan = await _plan(conn, str(compiled), positional)
            assert any("USING COVERING INDEX ix_agents_list" in line for line in plan) or any(
                "USING INDEX ix_agents_list" in line for line in plan
            ), plan
            assert not any("TEMP B-TREE" in line for line in plan), plan
