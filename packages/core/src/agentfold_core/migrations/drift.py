"""``check``: do the models and the schema the migration head builds agree?

The pending revisions are applied inside a transaction that is always rolled back,
then Alembic's comparison (the one autogenerate uses) runs against the models. On
SQLite the triggers emulating ``SET NULL (col)`` are compared too, on both backends
every versioned table must have its version-control capture triggers, and on
PostgreSQL every tenant-scoped table its row-level security policies.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Index, MetaData, Table, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import CompileError
from sqlalchemy.schema import Constraint, ForeignKeyConstraint, UniqueConstraint

from agentfold_core.db.engine import Database, create_database
from agentfold_core.db.foreign_keys import sqlite_set_null_triggers
from agentfold_core.db.row_security import bypasses_row_security, missing_policies
from agentfold_core.migrations.autogen import context_options
from agentfold_core.migrations.capture import REPAIR_TRIGGERS
from agentfold_core.migrations.commands import alembic_errors
from agentfold_core.migrations.config import CONNECTION, build_config
from agentfold_core.migrations.history import current_heads
from agentfold_core.migrations.results import MigrationObserver
from agentfold_core.migrations.session import database_exists, migration_connection
from agentfold_core.migrations.spec import EnvironmentSpec, Role, spec_for
from agentfold_core.versioning.capture_check import missing_capture_triggers


@dataclass(frozen=True, slots=True)
class DriftReport:
    """The differences between the models and the migration head of one database."""

    role: Role
    heads: tuple[str, ...]
    differences: tuple[str, ...]
    # Versioned tables lacking capture triggers (also named in ``differences``).
    missing_capture: tuple[str, ...] = ()
    # Tenant-scoped tables without row-level security (also named in ``differences``).
    missing_policies: tuple[str, ...] = ()
    # Why the checking role ignores row-level security, if it does (a warning).
    row_security_bypassed: str | None = None

    @property
    def ok(self) -> bool:
        """Whether models and migrations agree."""
        return not self.differences

    @property
    def fix_command(self) -> str:
        """The command that writes the missing revision (or reinstalls the triggers)."""
        revision = f'agentfold db revision --db {self.role} --autogenerate -m "describe the change"'
        if self.missing_policies:
            # Autogenerate writes the call for a new table; a policy dropped by hand
            # comes back by running it again (it is idempotent).
            tables = ", ".join(self.missing_policies)
            return f"call enable_row_security(table) in a revision for {tables}"
        if not self.missing_capture:
            return revision
        # A trigger dropped by hand comes back with repair-triggers; a revision that
        # creates or rebuilds a versioned table must call create_capture_triggers.
        if len(self.differences) > len(self.missing_capture):
            return f"{revision}; then {REPAIR_TRIGGERS}"
        return REPAIR_TRIGGERS


def _type(type_: Any, dialect: Dialect) -> str:
    try:
        return str(type_.compile(dialect=dialect))
    except CompileError:  # a type the dialect cannot render (UnsupportedCompilationError)
        return repr(type_)


def _columns(item: Index | Constraint) -> str:
    names = [getattr(c, "name", str(c)) for c in getattr(item, "columns", ())]
    if not names and isinstance(item, Index):
        names = [str(e) for e in item.expressions]
    return ", ".join(names)


def _owner(item: Index | Constraint) -> str:
    table = item.table
    return table.name if isinstance(table, Table) else "?"


def _constraint(item: Constraint) -> str:
    if isinstance(item, ForeignKeyConstraint):
        target = item.elements[0].target_fullname.split(".")[0] if item.elements else "?"
        ondelete = f" ON DELETE {item.ondelete}" if item.ondelete else ""
        return f"foreign key {item.name} on {_owner(item)}({_columns(item)}) -> {target}{ondelete}"
    kind = "unique constraint" if isinstance(item, UniqueConstraint) else "constraint"
    return f"{kind} {item.name} on {_owner(item)}({_columns(item)})"


_IN_MODELS = "in the models, missing from the migrated schema"
_IN_MIGRATIONS = "in the migrated schema, not in the models"


def _null(nullable: Any) -> str:
    return "NULL" if nullable else "NOT NULL"


def _modification(entry: tuple[Any, ...], dialect: Dialect) -> str:
    kind, _schema, table, column, _existing, old, new = entry
    where = f"column {table}.{column}"
    if kind == "modify_type":
        return (
            f"{where}: type {_type(old, dialect)} in the migrated schema, "
            f"{_type(new, dialect)} in the models"
        )
    if kind == "modify_nullable":
        return f"{where}: {_null(old)} in the migrated schema, {_null(new)} in the models"
    aspect = kind.removeprefix("modify_")
    return f"{where}: {aspect} {old!r} in the migrated schema, {new!r} in the models"


def describe(diff: Any, dialect: Dialect) -> list[str]:
    """Human-readable lines for one entry of ``compare_metadata``'s result."""
    if isinstance(diff, list):
        return [line for entry in diff for line in describe(entry, dialect)]
    kind = diff[0]
    if kind in ("add_table", "remove_table"):
        return [f"table {diff[1].name}: {_IN_MODELS if kind == 'add_table' else _IN_MIGRATIONS}"]
    if kind in ("add_column", "remove_column"):
        column = diff[3]
        side = _IN_MODELS if kind == "add_column" else _IN_MIGRATIONS
        null = "NULL" if column.nullable else "NOT NULL"
        return [f"column {diff[2]}.{column.name} ({_type(column.type, dialect)} {null}): {side}"]
    if kind in ("add_index", "remove_index"):
        index: Index = diff[1]
        unique = "unique index" if index.unique else "index"
        side = _IN_MODELS if kind == "add_index" else _IN_MIGRATIONS
        return [f"{unique} {index.name} on {_owner(index)}({_columns(index)}): {side}"]
    if kind in ("add_constraint", "add_fk", "remove_constraint", "remove_fk"):
        side = _IN_MODELS if kind.startswith("add") else _IN_MIGRATIONS
        return [f"{_constraint(diff[1])}: {side}"]
    if kind.startswith("modify_"):
        return [_modification(diff, dialect)]
    return [f"{kind}: {diff[1:]!r}"]


def _part_of(diff: Any, tables: set[str]) -> bool:
    if isinstance(diff, list) or diff[0] in ("add_table", "remove_table"):
        return False
    item = diff[1]
    return isinstance(item, Index | Constraint) and _owner(item) in tables


def _normalise_trigger(sql: str) -> str:
    # SQLite keeps the statement's text; IF NOT EXISTS and spacing are not part of its meaning.
    sql = re.sub(r"\bIF\s+NOT\s+EXISTS\b", "", sql, flags=re.IGNORECASE)
    return " ".join(sql.split()).lower()


def sqlite_trigger_differences(connection: Connection, metadata: MetaData) -> list[str]:
    """Missing, unexpected or different SET NULL triggers of a SQLite database."""
    expected = {
        name: sql
        for table in metadata.tables.values()
        for name, sql in sqlite_set_null_triggers(table)
    }
    rows = connection.execute(
        text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'trg_%'")
    ).all()
    actual = {str(name): str(sql) for name, sql in rows}
    lines = [f"trigger {name}: {_IN_MODELS}" for name in sorted(expected.keys() - actual.keys())]
    lines += [
        f"trigger {name}: {_IN_MIGRATIONS}" for name in sorted(actual.keys() - expected.keys())
    ]
    lines += [
        f"trigger {name}: its SQL differs between the migrated schema and the models"
        for name in sorted(expected.keys() & actual.keys())
        if _normalise_trigger(expected[name]) != _normalise_trigger(actual[name])
    ]
    return lines


def _check_sync(connection: Connection, spec: EnvironmentSpec, metadata: MetaData) -> DriftReport:
    config = build_config(spec, attributes={CONNECTION: connection})
    with alembic_errors():
        command.upgrade(config, "head")
    options = context_options(spec, metadata, connection.dialect.name)
    context = MigrationContext.configure(connection, opts=options)
    diffs = compare_metadata(context, metadata)
    # A table missing on one side names itself; its indexes and constraints need no lines.
    whole = {diff[1].name for diff in diffs if diff[0] in ("add_table", "remove_table")}
    differences = [
        line
        for diff in diffs
        if not _part_of(diff, whole)
        for line in describe(diff, connection.dialect)
    ]
    if connection.dialect.name == "sqlite":
        differences += sqlite_trigger_differences(connection, metadata)
    capture = missing_capture_triggers(connection, metadata)
    differences += [m.describe() for m in capture]
    unconfined = missing_policies(connection, metadata)
    differences += [m.describe() for m in unconfined]
    return DriftReport(
        role=spec.role,
        heads=current_heads(connection, spec),
        differences=tuple(differences),
        missing_capture=tuple(m.table for m in capture),
        missing_policies=tuple(m.table for m in unconfined),
        row_security_bypassed=bypasses_row_security(connection),
    )


async def check(
    database: Database,
    *,
    metadata: MetaData | None = None,
    observer: MigrationObserver | None = None,
) -> DriftReport:
    """Compare the models (or ``metadata``) with the schema the migration head builds.

    Pending revisions are applied in a transaction that is rolled back, so the
    database is left as it was; a SQLite file that does not exist is not created (the
    check runs on a scratch copy of the empty database instead).
    """
    spec = spec_for(database.role)
    watcher = observer or MigrationObserver()
    if database_exists(database):
        return await _check_on(database, spec, metadata or spec.metadata, watcher)
    with tempfile.TemporaryDirectory(prefix="agentfold-check-") as scratch:
        empty = create_database(f"sqlite+aiosqlite:///{scratch}/{spec.role}.db", spec.role)
        try:
            return await _check_on(empty, spec, metadata or spec.metadata, watcher)
        finally:
            await empty.dispose()


async def _check_on(
    database: Database, spec: EnvironmentSpec, metadata: MetaData, watcher: MigrationObserver
) -> DriftReport:
    async with migration_connection(
        database, spec, lambda message: watcher.waiting(spec.role, message), commit=False
    ) as connection:
        return await connection.run_sync(_check_sync, spec, metadata)
