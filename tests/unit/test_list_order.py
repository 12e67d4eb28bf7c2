"""Every listed table has one index in list order, declared once in ``db.list_order``."""

from __future__ import annotations

import pytest
from sqlalchemy import Table

from agentfold_core.db.columns import ScopeLevel
from agentfold_core.db.list_order import (
    LIST_ORDER_COLUMNS,
    list_index_columns,
    list_index_name,
    list_scope_columns,
)
from tests.unit.test_schema_keys import ENTITY_TABLE_PARAMS, traits_of


def _list_indexes(table: Table) -> list[tuple[str, tuple[str, ...]]]:
    return [
        (str(index.name), tuple(c.name for c in index.columns))
        for index in table.indexes
        if str(index.name).endswith("_list")
    ]


@pytest.mark.parametrize(("db", "table"), ENTITY_TABLE_PARAMS)
def test_each_listed_table_has_one_index_in_list_order(db: str, table: Table) -> None:
    traits = traits_of(table)
    scope = list_scope_columns(traits)
    if table.name == "tenants":
        # A tenant lists only itself: its key is the scope, there is nothing to order.
        assert scope == ("id",)
        assert list_index_columns(table, traits) is None
        assert _list_indexes(table) == []
        return
    assert "created_at" in table.c
    assert _list_indexes(table) == [(list_index_name(table.name), (*scope, *LIST_ORDER_COLUMNS))]
    # The scope columns come first, in key order, and never include the row's own id.
    assert scope[0] == "tenant_id"
    assert "id" not in scope
    primary = [c.name for c in table.primary_key.columns]
    assert list(scope) == [c for c in primary if c in scope]


@pytest.mark.parametrize(("db", "table"), ENTITY_TABLE_PARAMS)
def test_list_scope_is_the_key_without_id_except_for_the_tenant_row(db: str, table: Table) -> None:
    traits = traits_of(table)
    primary = tuple(c.name for c in table.primary_key.columns)
    if traits.self_scoped and traits.level is ScopeLevel.TENANT:
        assert list_scope_columns(traits) == ("id",)
    elif traits.self_scoped:
        # A project row is listed per tenant (and per branch in the manage database).
        expected = ("tenant_id", "branch") if db == "manage" else ("tenant_id",)
        assert list_scope_columns(traits) == expected
    else:
        assert list_scope_columns(traits) == tuple(c for c in primary if c != "id")
