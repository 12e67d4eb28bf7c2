"""Composite, scope-prefixed foreign keys: a child can never point into another scope.

``SET NULL`` on a composite key would also null the scope columns, so optional
references null only their own column: natively on PostgreSQL
(``ON DELETE SET NULL (col)``), by a ``BEFORE DELETE`` trigger on SQLite.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import DDL, ForeignKeyConstraint, MetaData, Table, event
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import DDLCompiler

SET_NULL_COLUMN = "set_null_column"

_MANAGE_PREFIX = {
    "project": ("tenant_id", "project_id", "branch"),
    "agent": ("tenant_id", "project_id", "branch", "agent_id"),
}
_RUNTIME_PREFIX = {
    "tenant": ("tenant_id",),
    "project": ("tenant_id", "project_id"),
    "agent": ("tenant_id", "project_id", "agent_id"),
}

Within = Literal["tenant", "project", "agent"]


def manage_parent(level: Literal["project", "agent", "sub_agent"]) -> ForeignKeyConstraint:
    """FK from a manage row's scope columns to the row owning that scope (cascade)."""
    if level == "project":
        return ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch"],
            ["projects.tenant_id", "projects.id", "projects.branch"],
            ondelete="CASCADE",
        )
    if level == "agent":
        return manage_reference("agents", "agent_id", within="project")
    return manage_reference("sub_agents", "sub_agent_id", within="agent")


def manage_reference(
    target: str,
    column: str,
    *,
    within: Literal["project", "agent"],
    on_delete: Literal["CASCADE", "SET NULL"] = "CASCADE",
) -> ForeignKeyConstraint:
    """FK from ``column`` (plus the scope prefix) to ``target.id`` in the same branch."""
    return _reference(_MANAGE_PREFIX[within], target, column, on_delete)


def runtime_parent(level: Literal["tenant", "project"]) -> ForeignKeyConstraint:
    """FK from a runtime row to its tenant or project row (cascade)."""
    if level == "tenant":
        return ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE")
    return ForeignKeyConstraint(
        ["tenant_id", "project_id"],
        ["project_metadata.tenant_id", "project_metadata.id"],
        ondelete="CASCADE",
    )


def runtime_reference(
    target: str,
    column: str,
    *,
    within: Within = "project",
    on_delete: Literal["CASCADE", "SET NULL"] = "CASCADE",
) -> ForeignKeyConstraint:
    """FK from ``column`` (plus the scope prefix) to ``target.id`` in the same scope."""
    return _reference(_RUNTIME_PREFIX[within], target, column, on_delete)


def _reference(
    prefix: tuple[str, ...], target: str, column: str, on_delete: str
) -> ForeignKeyConstraint:
    local = [*prefix, column]
    remote = [f"{target}.{c}" for c in prefix] + [f"{target}.id"]
    if on_delete == "SET NULL":
        return ForeignKeyConstraint(
            local, remote, ondelete=f"SET NULL ({column})", info={SET_NULL_COLUMN: column}
        )
    return ForeignKeyConstraint(local, remote, ondelete=on_delete)


@compiles(ForeignKeyConstraint, "sqlite")
def _sqlite_foreign_key(constraint: ForeignKeyConstraint, compiler: DDLCompiler, **kw: Any) -> str:
    # SQLite has no column list for SET NULL; the trigger below does the nulling and
    # the constraint itself stays NO ACTION.
    if constraint.info.get(SET_NULL_COLUMN) is None:
        return compiler.visit_foreign_key_constraint(constraint, **kw)
    ondelete = constraint.ondelete
    constraint.ondelete = None
    try:
        return compiler.visit_foreign_key_constraint(constraint, **kw)
    finally:
        constraint.ondelete = ondelete


def sqlite_set_null_triggers(table: Table) -> list[tuple[str, str]]:
    """``(name, CREATE TRIGGER sql)`` emulating each SET NULL reference of ``table``."""
    triggers = []
    for fk in table.foreign_key_constraints:
        column = fk.info.get(SET_NULL_COLUMN)
        if column is None:
            continue
        parent = fk.referred_table.name
        pairs = [
            f"{local} = OLD.{element.column.name}"
            for local, element in zip(fk.column_keys, fk.elements, strict=True)
        ]
        name = f"trg_{table.name}_{column}_set_null"
        sql = (
            f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE DELETE ON {parent} FOR EACH ROW "  # noqa: S608 - identifiers from the metadata
            f"BEGIN UPDATE {table.name} SET {column} = NULL WHERE {' AND '.join(pairs)}; END"
        )
        triggers.append((name, sql))
    return triggers


def install_sqlite_set_null_triggers(metadata: MetaData) -> None:
    """Create the SET NULL triggers whenever ``metadata.create_all`` runs on SQLite."""
    for table in metadata.tables.values():
        for _name, sql in sqlite_set_null_triggers(table):
            ddl = DDL(sql)  # type: ignore[no-untyped-call]
            event.listen(table, "after_create", ddl.execute_if(dialect="sqlite"))
