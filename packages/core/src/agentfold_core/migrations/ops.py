"""Helpers for revision scripts: the SQLite triggers that emulate ``SET NULL (col)``.

PostgreSQL nulls only the named column natively; SQLite gets a ``BEFORE DELETE``
trigger on the referenced table (see ``agentfold_core.db.foreign_keys``). Every helper
is a no-op on other backends, so revisions stay portable.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy import Column, ForeignKeyConstraint, MetaData, Table

from agentfold_core.db.foreign_keys import SET_NULL_COLUMN, sqlite_set_null_triggers


def _on_sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


def create_sqlite_set_null_triggers(table: Table) -> None:
    """On SQLite, create the triggers emulating each SET NULL reference of ``table``."""
    if not _on_sqlite():
        return
    for _name, sql in sqlite_set_null_triggers(table):
        op.execute(sql)


def create_sqlite_set_null_trigger(
    table: str, column: str, *, parent: str, scope: Sequence[str]
) -> None:
    """On SQLite, (re)create the trigger nulling ``table.column`` when its ``parent`` row goes.

    ``scope`` lists the scope columns the reference shares with ``parent``
    (for example ``("tenant_id", "project_id", "branch")``); the parent's key ends in ``id``.
    """
    metadata = MetaData()
    Table(parent, metadata, *(Column(name) for name in (*scope, "id")))
    child = Table(
        table,
        metadata,
        *(Column(name) for name in (*scope, column)),
        ForeignKeyConstraint(
            [*scope, column],
            [f"{parent}.{name}" for name in (*scope, "id")],
            info={SET_NULL_COLUMN: column},
        ),
    )
    create_sqlite_set_null_triggers(child)


def drop_sqlite_triggers(*names: str) -> None:
    """On SQLite, drop the named triggers (those that exist)."""
    if not _on_sqlite():
        return
    for name in names:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
