"""One index per listed table in list order, declared here once for both schemas.

Every ``list_*`` reads one scope, newest first: ``WHERE <scope columns> = ...
ORDER BY created_at DESC, id DESC LIMIT ... OFFSET ...``. A btree on
``(<scope columns>, created_at, id)``, scanned backwards, returns those rows already in
order, so the database neither reads every row of the scope into a sort nor sorts them.
"""

from __future__ import annotations

from sqlalchemy import Index, Table
from sqlalchemy.sql.elements import conv
from sqlmodel import SQLModel

from agentfold_core.db.columns import ScopeLevel
from agentfold_core.db.traits import TableTraits, sa_table, table_traits

LIST_ORDER_COLUMNS = ("created_at", "id")


def list_scope_columns(traits: TableTraits) -> tuple[str, ...]:
    """The columns a list of the table's rows is filtered by, in key order.

    A row is listed within its scope: ``tenant_id, project_id[, branch][, agent_id
    [, sub_agent_id]]``, its key without ``id``. A row that *is* a project is listed per
    tenant (and branch, in the manage database), which is again its key without ``id``.
    The tenant row is its own scope: its list is addressed by ``id`` alone.
    """
    if traits.self_scoped and traits.level is ScopeLevel.TENANT:
        return ("id",)
    return traits.scope_columns


def list_index_name(table: str) -> str:
    """The name of ``table``'s list-order index (final: the naming convention keeps it)."""
    return f"ix_{table}_list"


def list_index_columns(table: Table, traits: TableTraits) -> tuple[str, ...] | None:
    """``(<list scope columns>, created_at, id)``, or ``None`` when no index is needed.

    None when the table has no ``created_at``, or when the list scope already fixes the
    whole primary key (at most one row per scope: nothing to order).
    """
    if not set(LIST_ORDER_COLUMNS) <= set(table.c.keys()):
        return None
    scope = list_scope_columns(traits)
    if {c.name for c in table.primary_key.columns} <= set(scope):
        return None
    return (*scope, *LIST_ORDER_COLUMNS)


def add_list_order_indexes(base: type[SQLModel]) -> None:
    """Add ``ix_<table>_list`` to every table of ``base``'s registry that needs one.

    Called once at the end of each schema module, after its tables are declared.
    """
    for mapper in base._sa_registry.mappers:
        cls = mapper.class_
        table = sa_table(cls)
        columns = list_index_columns(table, table_traits(cls))
        name = list_index_name(table.name)
        if columns is None or name in {index.name for index in table.indexes}:
            continue
        Index(conv(name), *(table.c[c] for c in columns))
