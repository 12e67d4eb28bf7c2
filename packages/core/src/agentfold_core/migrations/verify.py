"""``verify_schema``: the read-only startup check of one database against this version.

It reports revisions not applied (or unknown to this version), tables and columns
the models need that the database lacks, and versioned tables without their
version-control capture triggers, with the command that fixes it. In
``"warning"`` mode it logs and returns the report; in ``"strict"`` mode it raises
``SchemaNotReady``. Columns the database has beyond the models are fine: an
expand-then-contract migration adds them before the code that uses them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import Connection, MetaData, inspect, text

from agentfold_core.db.engine import Database
from agentfold_core.migrations.capture import REPAIR_TRIGGERS
from agentfold_core.migrations.config import script_directory
from agentfold_core.migrations.errors import SchemaNotReady
from agentfold_core.migrations.history import current_heads
from agentfold_core.migrations.session import database_errors, database_exists, sqlite_file
from agentfold_core.migrations.spec import EnvironmentSpec, Role, spec_for
from agentfold_core.versioning.capture_check import missing_capture_triggers

VerifyMode = Literal["warning", "strict"]

logger = logging.getLogger("agentfold_core.migrations")


@dataclass(frozen=True, slots=True)
class SchemaReport:
    """How one database differs from what this version of agentfold needs."""

    role: Role
    exists: bool
    revisions: tuple[str, ...]
    heads: tuple[str, ...]
    missing_revisions: tuple[tuple[str, str], ...]
    unknown_revisions: tuple[str, ...]
    missing_tables: tuple[str, ...]
    missing_columns: tuple[tuple[str, str], ...]
    location: str = ""
    # Versioned tables lacking (or with disabled) capture triggers.
    missing_capture: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the database is ready for this version."""
        return not (
            self.missing_revisions
            or self.unknown_revisions
            or self.missing_tables
            or self.missing_columns
            or self.missing_capture
        )

    @property
    def fix_command(self) -> str:
        """The command that brings the database where this version needs it."""
        if self.unknown_revisions:
            return (
                "use the newer agentfold that wrote revision "
                f"{', '.join(self.unknown_revisions)}, or with it run "
                f"`agentfold db downgrade --db {self.role} {' '.join(self.heads) or 'base'}`"
            )
        upgrade = f"agentfold db upgrade --db {self.role}"
        if not self.missing_capture:
            return upgrade
        # ``upgrade`` reinstalls no trigger of a revision already applied.
        repair = f"{REPAIR_TRIGGERS} (then agentfold vc verify each project written since)"
        if self.missing_revisions or self.missing_tables or self.missing_columns:
            return f"{upgrade}, then {repair}"
        return repair

    @property
    def cause(self) -> str:
        """What is wrong, in a few words: the first half of a one-line error."""
        if not self.exists:
            return f"is not initialised (its file {self.location} does not exist)"
        if self.unknown_revisions:
            return self.problems()[0].removeprefix("the database ")
        if self.missing_revisions and not self.revisions:
            return "is not initialised (no revision applied)"
        if self.missing_revisions:
            return (
                f"is behind its migrations (at {', '.join(self.revisions)}, "
                f"head {', '.join(self.heads)})"
            )
        return f"is not ready: {'; '.join(self.problems())}"

    def problems(self) -> list[str]:
        """One line per problem, without the fix."""
        lines: list[str] = []
        if not self.exists:
            lines.append(f"the database file {self.location} does not exist")
        if self.unknown_revisions:
            lines.append(
                f"the database is at revision {', '.join(self.unknown_revisions)}, "
                "which this version of agentfold does not know"
            )
        if self.missing_revisions:
            listed = ", ".join(f"{rev} ({message})" for rev, message in self.missing_revisions)
            lines.append(f"revisions not applied: {listed}")
        if self.missing_tables:
            lines.append(f"missing tables: {', '.join(self.missing_tables)}")
        if self.missing_columns:
            listed = ", ".join(f"{table}.{column}" for table, column in self.missing_columns)
            lines.append(f"missing columns: {listed}")
        if self.missing_capture:
            lines.append(
                f"capture triggers missing on {', '.join(self.missing_capture)}: "
                "version control does not see writes to them"
            )
        return lines


def _pending(
    scripts: ScriptDirectory, applied: tuple[str, ...]
) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    unknown: list[str] = []
    for revision in applied:
        try:
            scripts.get_revision(revision)
        except (CommandError, RevisionError):
            unknown.append(revision)
    if unknown:
        return (), tuple(unknown)
    found = list(scripts.iterate_revisions("heads", applied, implicit_base=True))
    return tuple((s.revision, s.doc) for s in reversed(found)), ()


def _missing_schema(
    tables: Iterable[str], columns_of: dict[str, set[str]], metadata: MetaData
) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    present = set(tables)
    missing_tables = tuple(sorted(name for name in metadata.tables if name not in present))
    missing_columns = tuple(
        (name, column.name)
        for name, table in sorted(metadata.tables.items())
        if name in present
        for column in table.columns
        if column.name not in columns_of.get(name, set())
    )
    return missing_tables, missing_columns


def _inspect(connection: Connection, spec: EnvironmentSpec) -> SchemaReport:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET TRANSACTION READ ONLY"))
    metadata = spec.metadata
    scripts = script_directory(spec)
    applied = current_heads(connection, spec)
    missing_revisions, unknown = _pending(scripts, applied)
    inspector = inspect(connection)
    tables = inspector.get_table_names()
    columns_of = {
        name: {column["name"] for column in inspector.get_columns(name)}
        for name in metadata.tables
        if name in tables
    }
    missing_tables, missing_columns = _missing_schema(tables, columns_of, metadata)
    capture = missing_capture_triggers(connection, metadata)
    return SchemaReport(
        role=spec.role,
        exists=True,
        revisions=applied,
        heads=tuple(scripts.get_heads()),
        missing_revisions=missing_revisions,
        unknown_revisions=unknown,
        missing_tables=missing_tables,
        missing_columns=missing_columns,
        missing_capture=tuple(m.table for m in capture),
    )


def _absent(database: Database, spec: EnvironmentSpec) -> SchemaReport:
    scripts = script_directory(spec)
    missing_revisions, _ = _pending(scripts, ())
    return SchemaReport(
        role=spec.role,
        exists=False,
        revisions=(),
        heads=tuple(scripts.get_heads()),
        missing_revisions=missing_revisions,
        unknown_revisions=(),
        missing_tables=tuple(sorted(spec.metadata.tables)),
        missing_columns=(),
        location=str(sqlite_file(database)),
    )


async def inspect_schema(database: Database) -> SchemaReport:
    """What ``database`` lacks for this version, read-only, without logging or raising."""
    spec = spec_for(database.role)
    if not database_exists(database):
        # Connecting would create the SQLite file: report it missing instead.
        return _absent(database, spec)
    with database_errors(spec.role):
        async with database.read() as connection:
            return await connection.run_sync(_inspect, spec)


async def verify_schema(database: Database, *, mode: VerifyMode = "warning") -> SchemaReport:
    """Check, read-only, that ``database`` has every revision, table, column and capture
    trigger of this version.

    ``"warning"`` logs each problem and the fix; ``"strict"`` raises ``SchemaNotReady``.
    """
    report = await inspect_schema(database)
    if report.ok:
        return report
    problems = report.problems()
    if mode == "strict":
        raise SchemaNotReady(
            f"the {report.role} database {report.cause}; fix: {report.fix_command}",
            report=report,
        )
    for problem in problems:
        logger.warning("%s database: %s", report.role, problem)
    logger.warning("%s database: fix: %s", report.role, report.fix_command)
    return report
