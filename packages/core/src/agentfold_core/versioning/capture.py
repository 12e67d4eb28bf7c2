"""Change capture: database triggers record every key written since a branch's last
commit in ``vc_dirty``, so a commit hashes only what changed.

Triggers see everything that writes a versioned table: the data layer, cascades of
foreign keys, bulk statements and raw SQL. They are generated here for both backends
from a table's name and key columns (not from the live models, so a migration that
installs them stays valid as the models evolve) and installed by migrations through
``agentfold_core.migrations.ops.create_capture_triggers``.

- SQLite: ``AFTER INSERT / UPDATE / DELETE ... FOR EACH ROW`` triggers.
- PostgreSQL: ``FOR EACH STATEMENT`` triggers over transition tables, so a bulk
  statement records its keys in one ``INSERT ... SELECT``; they also list the branches
  and tables they touched in the transaction-local setting ``agentfold.touched``, which
  the commit reads instead of scanning the tenant's keys in ``vc_dirty`` (a range every
  commit's inserts and deletes leave full of dead index entries).

Capture of one branch pauses while its row in ``vc_paused`` exists (``paused``): the
version-control operations that write a branch as a whole (a branch copied from
another, a commit materialised, a branch dropped) know the result is exactly a
manifest, and recording each of its keys only to forget them again cost as much as
the copy itself. The row is written and deleted inside the operation's transaction,
so no other writer ever sees it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import DDL, Delete, Insert, MetaData, delete, event, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from agentfold_core.versioning.rows import VersionedTable, versioned
from agentfold_core.versioning.tables import KEY_PARTS, paused

if TYPE_CHECKING:
    from agentfold_core.versioning.commit import Branch

_EVENTS = ("insert", "update", "delete")
# The transaction-local setting in which PostgreSQL's triggers list what they touched:
# entries "tenant US project US branch US table RS", after a leading RS (the ASCII unit
# and record separators, which no identifier holds).
TOUCHED = "agentfold.touched"
_UNIT, _RECORD = "\x1f", "\x1e"
Touched = tuple[str, str, str, str]  # (tenant, project, branch, table)
_KEYS = tuple(f"key_{n}" for n in range(1, KEY_PARTS + 1))
_COLUMNS = ", ".join(("tenant_id", "project_id", "branch", "table_name", "row_key", *_KEYS))


@dataclass(frozen=True, slots=True)
class CaptureSpec:
    """What a capture trigger needs to know of a table."""

    table: str
    key_columns: tuple[str, ...]
    project_column: str = "project_id"
    # False: the triggers as first installed (manage 0003-0005), before ``vc_paused``.
    pausable: bool = True

    @classmethod
    def of(cls, versioned: VersionedTable) -> CaptureSpec:
        """The spec of a versioned table of the current models."""
        return cls(versioned.name, versioned.key_columns, versioned.project_column)

    def trigger_names(self, dialect: str) -> tuple[str, ...]:
        """The names of the table's capture triggers on ``dialect``."""
        return tuple(f"vc_capture_{self.table}_{event}" for event in _EVENTS)

    def _key(self, record: str, dialect: str) -> str:
        separator = " || char(31) || " if dialect == "sqlite" else " || chr(31) || "
        return separator.join(f"{record}.{column}" for column in self.key_columns)

    def _values(self, record: str, dialect: str) -> str:
        parts = [f"{record}.{column}" for column in self.key_columns]
        parts += ["NULL"] * (KEY_PARTS - len(parts))
        return (
            f"{record}.tenant_id, {record}.{self.project_column}, {record}.branch, "
            f"'{self.table}', {self._key(record, dialect)}, {', '.join(parts)}"
        )

    def create_sql(self, dialect: str) -> list[str]:
        """The statements that install the table's capture triggers."""
        if dialect == "sqlite":
            return self._sqlite()
        return self._postgresql()

    def drop_sql(self, dialect: str) -> list[str]:
        """The statements that remove them."""
        names = self.trigger_names(dialect)
        if dialect == "sqlite":
            return [f"DROP TRIGGER IF EXISTS {name}" for name in names]
        drops = [f"DROP TRIGGER IF EXISTS {name} ON {self.table}" for name in names]
        return [*drops, *(f"DROP FUNCTION IF EXISTS {f}()" for f in self._functions())]

    def _not_paused(self, row: str) -> str:
        # Identifiers only, from the table's spec (never from input).
        return (
            "NOT EXISTS (SELECT 1 FROM vc_paused p WHERE p.tenant_id = "  # noqa: S608
            f"{row}.tenant_id AND p.project_id = {row}.{self.project_column} "
            f"AND p.branch = {row}.branch)"
        )

    def _sqlite(self) -> list[str]:
        # No ``INSERT OR IGNORE``: an outer statement's conflict policy (an upsert's)
        # overrides the one of a trigger body, so skip known keys explicitly.
        def record(row: str) -> str:
            key = self._key(row, "sqlite")
            # Identifiers only, from the table's spec (never from input).
            return (
                f"INSERT INTO vc_dirty ({_COLUMNS}) "  # noqa: S608
                f"SELECT {self._values(row, 'sqlite')} WHERE NOT EXISTS (SELECT 1 FROM vc_dirty "
                f"WHERE tenant_id = {row}.tenant_id AND project_id = {row}.{self.project_column} "
                f"AND branch = {row}.branch AND table_name = '{self.table}' AND row_key = {key});"
            )

        bodies = {
            "insert": ("NEW", record("NEW")),
            "update": ("NEW", f"{record('OLD')} {record('NEW')}"),
            "delete": ("OLD", record("OLD")),
        }
        return [
            f"CREATE TRIGGER IF NOT EXISTS vc_capture_{self.table}_{kind} "
            f"AFTER {kind.upper()} ON {self.table} FOR EACH ROW "
            f"{f'WHEN {self._not_paused(row)} ' if self.pausable else ''}BEGIN {body} END"
            for kind, (row, body) in bodies.items()
        ]

    def _functions(self) -> tuple[str, ...]:
        return tuple(f"vc_capture_{self.table}_{source}" for source in ("new", "old", "both"))

    def _touching(self, rows: tuple[str, ...], where: str) -> str:
        # Adds "tenant US project US branch US table RS" for each branch the statement
        # wrote to the transaction-local ``agentfold.touched`` (once each), so that the
        # commit learns what to look at without reading ``vc_dirty`` for the tenant.
        unit, record = f"chr({ord(_UNIT)})", f"chr({ord(_RECORD)})"
        entry = f"r.tenant_id || {unit} || r.{self.project_column} || {unit} || r.branch"
        found = " UNION ".join(
            f"SELECT {entry} FROM {source} r{where}"  # noqa: S608
            for source in rows
        )
        return (
            f"touched := coalesce(nullif(current_setting('{TOUCHED}', true), ''), {record}); "
            f"FOR entry IN {found} LOOP "
            f"entry := entry || {unit} || '{self.table}' || {record}; "
            f"IF strpos(touched, {record} || entry) = 0 THEN touched := touched || entry; END IF; "
            "END LOOP; "
            f"PERFORM set_config('{TOUCHED}', touched, true);"
        )

    def _postgresql(self) -> list[str]:
        insert = f"INSERT INTO vc_dirty ({_COLUMNS})"
        # Identifiers only, from the table's spec (never from input).
        values = self._values("r", "postgresql")
        where = f" WHERE {self._not_paused('r')}" if self.pausable else ""
        select_new = f"SELECT DISTINCT {values} FROM new_rows r{where}"  # noqa: S608
        select_old = f"SELECT DISTINCT {values} FROM old_rows r{where}"  # noqa: S608
        sources = {
            "new": (f"{insert} {select_new} ON CONFLICT DO NOTHING;", ("new_rows",)),
            "old": (f"{insert} {select_old} ON CONFLICT DO NOTHING;", ("old_rows",)),
            "both": (
                f"{insert} {select_old} UNION {select_new} ON CONFLICT DO NOTHING;",
                ("old_rows", "new_rows"),
            ),
        }
        new_fn, old_fn, both_fn = self._functions()
        # The pausable triggers (manage 0006 on) also name the branches they touched.
        statements = [
            f"CREATE OR REPLACE FUNCTION vc_capture_{self.table}_{source}() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ "
            f"{'DECLARE touched text; entry text; ' if self.pausable else ''}BEGIN {body} "
            f"{self._touching(rows, where) if self.pausable else ''} RETURN NULL; END $$"
            for source, (body, rows) in sources.items()
        ]
        triggers = {
            "insert": ("REFERENCING NEW TABLE AS new_rows", new_fn),
            "update": ("REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows", both_fn),
            "delete": ("REFERENCING OLD TABLE AS old_rows", old_fn),
        }
        for kind, (referencing, function) in triggers.items():
            name = f"vc_capture_{self.table}_{kind}"
            statements.append(f"DROP TRIGGER IF EXISTS {name} ON {self.table}")
            statements.append(
                f"CREATE TRIGGER {name} AFTER {kind.upper()} ON {self.table} {referencing} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            )
        return statements


def installed_sql(dialect: str) -> str:
    """A query listing the capture triggers installed (their names)."""
    if dialect == "sqlite":
        return "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'vc_capture_%'"
    return "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE 'vc_capture_%'"


def missing_triggers(specs: Sequence[CaptureSpec], installed: set[str], dialect: str) -> list[str]:
    """The versioned tables whose capture triggers are not all installed."""
    return [s.table for s in specs if not set(s.trigger_names(dialect)) <= installed]


def install_capture_triggers(metadata: MetaData) -> None:
    """Create each versioned table's capture triggers whenever ``metadata.create_all``
    creates the table (on either backend), as migrations do."""
    for table in metadata.tables.values():
        found = versioned(table)
        if found is None:
            continue
        spec = CaptureSpec.of(found)
        for dialect in ("sqlite", "postgresql"):
            for sql in spec.create_sql(dialect):
                ddl = DDL(sql)  # type: ignore[no-untyped-call]
                event.listen(table, "after_create", ddl.execute_if(dialect=dialect))


def pause_statements(tenant_id: Any, project_id: Any, branch: Any) -> tuple[Insert, Delete]:
    """The statements that pause and resume the capture of one branch (values or bound
    parameters)."""
    pause = insert(paused).values(tenant_id=tenant_id, project_id=project_id, branch=branch)
    resume = delete(paused).where(
        paused.c.tenant_id == tenant_id,
        paused.c.project_id == project_id,
        paused.c.branch == branch,
    )
    return pause, resume


@asynccontextmanager
async def capture_paused(conn: AsyncConnection, branch: Branch) -> AsyncIterator[None]:
    """Writes to ``branch`` inside the block are not recorded: the caller makes the
    branch's rows exactly a manifest it writes itself. An error inside the block must
    end the transaction (as it does every version-control operation's)."""
    pause, resume = pause_statements(branch.tenant_id, branch.project_id, branch.name)
    await conn.execute(pause)
    yield
    await conn.execute(resume)


def touched_entries(listed: str | None, tenant_id: str | None = None) -> list[Touched]:
    """The entries of a touched list (of ``tenant_id``'s only, when given), sorted."""
    found = set()
    for entry in (listed or "").split(_RECORD):
        parts = entry.split(_UNIT)
        if len(parts) == 4 and (tenant_id is None or parts[0] == tenant_id):
            found.add((parts[0], parts[1], parts[2], parts[3]))
    return sorted(found)


def with_touched(listed: str | None, entries: Iterable[Touched]) -> str:
    """A touched list with ``entries`` added (each once), as the triggers add theirs."""
    touched = listed or _RECORD
    for entry in entries:
        text = _UNIT.join(entry) + _RECORD
        if _RECORD + text not in touched:
            touched += text
    return touched


async def note_touched(conn: AsyncConnection, branch: Branch, tables: Sequence[str]) -> None:
    """List keys recorded in ``vc_dirty`` by hand (not by a trigger) where the commit
    looks for them on PostgreSQL (``TOUCHED``), as the triggers list theirs."""
    if conn.dialect.name != "postgresql" or not tables:
        return
    listed = (await conn.execute(select(func.current_setting(TOUCHED, True)))).scalar_one()
    scope = (branch.tenant_id, branch.project_id, branch.name)
    touched = with_touched(listed, ((*scope, t) for t in sorted(set(tables))))
    await conn.execute(select(func.set_config(TOUCHED, touched, True)))
