"""Are the capture triggers there? Finding and reinstalling missing ones.

Without its capture triggers a versioned table is written silently: nothing records
the keys, so no commit ever sees the change and history drifts from the rows.
``agentfold db check`` and the startup check (``verify_schema``) call
``missing_capture_triggers``; ``agentfold vc repair-triggers`` reinstalls them
(``migrations.repair_capture_triggers``). A trigger that exists but is disabled
(``ALTER TABLE ... DISABLE TRIGGER`` on PostgreSQL) counts as missing: it records
nothing either.

Reinstalling triggers does not recover the writes made while they were missing:
``agentfold vc verify`` (``versioning.verify``) finds those by a full re-scan and
``agentfold vc repair`` commits them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, MetaData, inspect, text

from agentfold_core.versioning.capture import CaptureSpec, installed_sql, missing_triggers
from agentfold_core.versioning.rows import versioned, versioned_tables

# The table each capture trigger is on, and whether it fires (PostgreSQL can disable one).
_ON_TABLE = {
    "sqlite": (
        "SELECT name, tbl_name, 1 FROM sqlite_master "
        "WHERE type = 'trigger' AND name LIKE 'vc_capture_%'"
    ),
    "postgresql": (
        "SELECT t.tgname, c.relname, t.tgenabled <> 'D' FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE NOT t.tgisinternal AND t.tgname LIKE 'vc_capture_%' "
        "AND pg_table_is_visible(c.oid)"
    ),
}


@dataclass(frozen=True, slots=True)
class MissingCapture:
    """A versioned table whose capture triggers are not all installed and enabled."""

    table: str
    triggers: tuple[str, ...]  # the names missing (or disabled), in event order

    def describe(self) -> str:
        """One line naming the table and its missing triggers."""
        return f"capture triggers of {self.table} missing: {', '.join(self.triggers)}"


def capture_specs(metadata: MetaData | None = None) -> list[CaptureSpec]:
    """The capture specs of the versioned tables of ``metadata`` (the manage models by
    default), parents before children."""
    if metadata is None:
        return [CaptureSpec.of(v) for v in versioned_tables()]
    found = (versioned(t) for t in metadata.sorted_tables)
    return [CaptureSpec.of(v) for v in found if v is not None]


def _installed(connection: Connection, specs: Iterable[CaptureSpec]) -> set[str]:
    dialect = connection.dialect.name
    names = {str(name) for (name,) in connection.execute(text(installed_sql(dialect)))}
    expected = {name: s.table for s in specs for name in s.trigger_names(dialect)}
    # Only a trigger on its own table, and firing, captures anything.
    firing = {
        str(name)
        for name, table, enabled in connection.execute(text(_ON_TABLE[dialect]))
        if enabled and expected.get(str(name)) == str(table)
    }
    return names & firing


def missing_capture_triggers(
    connection: Connection, metadata: MetaData | None = None
) -> list[MissingCapture]:
    """The versioned tables of ``metadata`` (the manage models by default) that exist in
    the database but lack any of their capture triggers (tables missing altogether are
    the schema checks' business). Empty for a database without version control (its
    ``vc_dirty`` table does not exist yet: the upgrade installs everything)."""
    tables = set(inspect(connection).get_table_names())
    if "vc_dirty" not in tables:
        return []
    specs = [s for s in capture_specs(metadata) if s.table in tables]
    dialect = connection.dialect.name
    installed = _installed(connection, specs)
    missing = set(missing_triggers(specs, installed, dialect))
    return [
        MissingCapture(s.table, tuple(n for n in s.trigger_names(dialect) if n not in installed))
        for s in specs
        if s.table in missing
    ]


def install_capture_triggers(connection: Connection, tables: Iterable[str]) -> None:
    """(Re)install the capture triggers of the named versioned tables of the models."""
    dialect = connection.dialect.name
    by_name = {s.table: s for s in capture_specs()}
    for table in tables:
        spec = by_name[table]
        if dialect == "postgresql":
            # A disabled trigger is kept by CREATE ... IF NOT EXISTS: start afresh.
            for sql in spec.drop_sql(dialect):
                connection.execute(text(sql))
        else:
            for name in spec.trigger_names(dialect):
                connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        for sql in spec.create_sql(dialect):
            connection.execute(text(sql))
