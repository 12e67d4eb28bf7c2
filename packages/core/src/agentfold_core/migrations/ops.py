"""Helpers for revision scripts: the SQLite triggers that emulate ``SET NULL (col)``,
the capture triggers of version control, and PostgreSQL's row-level security.

PostgreSQL nulls only the named column natively; SQLite gets a ``BEFORE DELETE``
trigger on the referenced table (see ``agentfold_core.db.foreign_keys``). Every helper
is a no-op on other backends, so revisions stay portable.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy import Column, ForeignKeyConstraint, MetaData, Table

from agentfold_core.db import row_security
from agentfold_core.db.foreign_keys import SET_NULL_COLUMN, sqlite_set_null_triggers
from agentfold_core.settings import DatabaseSettings
from agentfold_core.versioning.bootstrap import initialise_history as initialise
from agentfold_core.versioning.capture import CaptureSpec


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


def create_capture_triggers(
    table: str,
    key_columns: Sequence[str],
    *,
    project_column: str = "project_id",
    pausable: bool = True,
) -> None:
    """Install the version-control capture triggers of a versioned manage table.

    ``key_columns`` are its key after the scope (``("agent_id", "id")`` for a table of
    an agent's rows); ``project_column`` is ``"id"`` for the projects table itself. A
    revision that adds a versioned table calls this after ``op.create_table`` (and
    again after a SQLite batch operation on it, which drops a table's triggers).
    ``pausable=False`` installs them as revisions before ``vc_paused`` (0006) did.
    """
    spec = CaptureSpec(table, tuple(key_columns), project_column, pausable)
    for sql in spec.create_sql(op.get_context().dialect.name):
        op.execute(sql)


def drop_capture_triggers(table: str) -> None:
    """Remove a table's capture triggers (before dropping the table)."""
    spec = CaptureSpec(table, ("id",))
    for sql in spec.drop_sql(op.get_context().dialect.name):
        op.execute(sql)


def initialise_history() -> None:
    """Give every project branch without history a root commit of its current rows
    (the data revision that follows the installation of version control).

    Rows are hashed in Python, so offline SQL (``--sql``) can only say so: run the
    upgrade online to give existing projects their history.
    """
    if op.get_context().as_sql:
        op.execute("-- 0004: existing projects get their history when upgraded online")
        return
    initialise(op.get_bind())


def _on_postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def enable_row_security(table: str, *, tenant_column: str = "tenant_id") -> None:
    """On PostgreSQL, confine ``table`` to each transaction's tenant (``db.row_security``)
    and grant the application role (``AGENTFOLD_APP_ROLE``, if set) its rows.

    A revision that adds a tenant-scoped table calls this after ``op.create_table``
    (autogenerate writes it); ``agentfold db check`` fails on such a table without it.
    Running it again changes nothing. A no-op on SQLite.
    """
    if not _on_postgresql():
        return
    for sql in row_security.policy_sql(table, tenant_column):
        op.execute(sql)
    role = DatabaseSettings().app_role
    if role is not None:
        for sql in row_security.grant_sql(table, role):
            op.execute(sql)


def grant_version_table() -> None:
    """On PostgreSQL, let the application role (``AGENTFOLD_APP_ROLE``, if set) read the
    revision its database is at (the service's startup check)."""
    role = DatabaseSettings().app_role
    if not _on_postgresql() or role is None:
        return
    table = op.get_context().version_table
    op.execute(f"GRANT SELECT ON {row_security.quoted(table)} TO {row_security.quoted(role)}")


def disable_row_security(table: str) -> None:
    """On PostgreSQL, remove ``table``'s policies and row-level security."""
    if not _on_postgresql():
        return
    for sql in row_security.drop_policy_sql(table):
        op.execute(sql)
