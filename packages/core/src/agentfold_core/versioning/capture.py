"""Change capture: database triggers record every key written since a branch's last
commit in ``vc_dirty``, so a commit hashes only what changed.

Triggers see everything that writes a versioned table: the data layer, cascades of
foreign keys, bulk statements and raw SQL. They are generated here for both backends
from a table's name and key columns (not from the live models, so a migration that
installs them stays valid as the models evolve) and installed by migrations through
``agentfold_core.migrations.ops.create_capture_triggers``.

- SQLite: ``AFTER INSERT / UPDATE / DELETE ... FOR EACH ROW`` triggers.
- PostgreSQL: ``FOR EACH STATEMENT`` triggers over transition tables, so a bulk
  statement records its keys in one ``INSERT ... SELECT``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import DDL, MetaData, event

from agentfold_core.versioning.rows import VersionedTable, versioned
from agentfold_core.versioning.tables import KEY_PARTS

_EVENTS = ("insert", "update", "delete")
_KEYS = tuple(f"key_{n}" for n in range(1, KEY_PARTS + 1))
_COLUMNS = ", ".join(("tenant_id", "project_id", "branch", "table_name", "row_key", *_KEYS))


@dataclass(frozen=True, slots=True)
class CaptureSpec:
    """What a capture trigger needs to know of a table."""

    table: str
    key_columns: tuple[str, ...]
    project_column: str = "project_id"

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
            "insert": record("NEW"),
            "update": f"{record('OLD')} {record('NEW')}",
            "delete": record("OLD"),
        }
        return [
            f"CREATE TRIGGER IF NOT EXISTS vc_capture_{self.table}_{kind} "
            f"AFTER {kind.upper()} ON {self.table} FOR EACH ROW BEGIN {body} END"
            for kind, body in bodies.items()
        ]

    def _functions(self) -> tuple[str, ...]:
        return tuple(f"vc_capture_{self.table}_{source}" for source in ("new", "old", "both"))

    def _postgresql(self) -> list[str]:
        insert = f"INSERT INTO vc_dirty ({_COLUMNS})"
        # Identifiers only, from the table's spec (never from input).
        values = self._values("r", "postgresql")
        select_new = f"SELECT DISTINCT {values} FROM new_rows r"  # noqa: S608
        select_old = f"SELECT DISTINCT {values} FROM old_rows r"  # noqa: S608
        sources = {
            "new": f"{insert} {select_new} ON CONFLICT DO NOTHING;",
            "old": f"{insert} {select_old} ON CONFLICT DO NOTHING;",
            "both": (f"{insert} {select_old} UNION {select_new} ON CONFLICT DO NOTHING;"),
        }
        new_fn, old_fn, both_fn = self._functions()
        statements = [
            f"CREATE OR REPLACE FUNCTION vc_capture_{self.table}_{source}() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN {body} RETURN NULL; END $$"
            for source, body in sources.items()
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
