"""Versioned tables, their row keys and their row images.

A row of a versioned table is addressed, within one project and branch, by its *row
key*: the key columns after the scope (``tenant_id``, ``project_id``, ``branch``),
joined by the unit separator (``agent_id␟id`` for a sub-agent). Its *image* is the
canonical JSON of every other column by name (sorted keys, timestamps in ISO form),
so an image written before a schema change still decodes after it; its *hash* names
the image.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import JSON, Boolean, ColumnElement, DateTime, Table, and_
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from agentfold_core.db.base import INTERNAL, manage_metadata
from agentfold_core.db.types import UTCDateTime
from agentfold_core.versioning.tables import HASH_LENGTH

SEPARATOR = "\x1f"
_SCOPE = ("tenant_id", "project_id", "branch")


@dataclass(frozen=True, slots=True)
class VersionedTable:
    """One versioned table as version control sees it."""

    table: Table
    project_column: str  # ``project_id``, or ``id`` for the project's own row
    key_columns: tuple[str, ...]  # the row key, in key order
    data_columns: tuple[str, ...]  # what an image holds (every column but the scope)
    timestamps: frozenset[str]
    booleans: frozenset[str]
    json_columns: frozenset[str]
    # The scalar default of each data column that has one (what a row written without
    # the column holds: an image from before the column existed).
    defaults: tuple[tuple[str, Any], ...] = ()

    @property
    def name(self) -> str:
        """The table name."""
        return self.table.name

    def in_branch(self, tenant_id: Any, project_id: Any, branch: Any) -> ColumnElement[bool]:
        """The rows of one project's branch (values or bound parameters)."""
        table = self.table
        return and_(
            table.c.tenant_id == tenant_id,
            table.c[self.project_column] == project_id,
            table.c.branch == branch,
        )

    def row_key(self, row: Mapping[Any, Any]) -> str:
        """The row key of a row (a mapping with at least the key columns)."""
        return SEPARATOR.join(str(row[c]) for c in self.key_columns)

    def key_values(self, row_key: str) -> dict[str, str]:
        """The key columns named by a row key."""
        return dict(zip(self.key_columns, row_key.split(SEPARATOR), strict=True))

    def image(self, row: Mapping[Any, Any]) -> tuple[str, str]:
        """``(hash, canonical JSON)`` of a row as read from the table."""
        data = {c: row[c] for c in self.data_columns}
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=_encode)
        return image_hash(self.name, text), text

    def image_of_json(self, data: Mapping[str, Any]) -> tuple[str, str]:
        """``(hash, canonical JSON)`` of a row read as a JSON object by the database
        (timestamps as text, SQLite's booleans as integers): the same as ``image``."""
        row = dict(data)
        for column in self.timestamps:
            value = row.get(column)
            if isinstance(value, str):
                row[column] = datetime.fromisoformat(value)
        for column in self.booleans:
            value = row.get(column)
            if value is not None:
                row[column] = bool(value)
        return self.image(row)

    def values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Column values to write a decoded image back (columns the table no longer
        has are dropped; timestamps parsed)."""
        out: dict[str, Any] = {}
        for column in self.data_columns:
            if column not in data:
                continue
            value = data[column]
            if column in self.timestamps and isinstance(value, str):
                value = datetime.fromisoformat(value)
            out[column] = value
        return out


def image_hash(table: str, text: str) -> str:
    """The hash naming an image of ``table``."""
    return hashlib.sha256(f"{table}\x00{text}".encode()).hexdigest()[:HASH_LENGTH]


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        # Stored times are UTC; a driver may hand them back naive (SQLite), or in the
        # session's time zone (PostgreSQL's TimeZone setting, also in JSON output):
        # an image names the instant in UTC, whatever the session.
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC).isoformat()
        return value.astimezone(UTC).isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} in a row image")


def versioned(table: Table) -> VersionedTable | None:
    """The version-control view of a table (of the models, or reflected); None when it
    is not versioned."""
    internal = table.info.get(INTERNAL) or table.name.startswith("vc_")
    if internal or "branch" not in table.primary_key.columns:
        return None
    key = tuple(c.name for c in table.primary_key.columns if c.name not in _SCOPE)
    project_column = "project_id" if "project_id" in table.c else "id"
    data = tuple(c.name for c in table.columns if c.name not in _SCOPE)
    stamps = frozenset(c.name for c in table.columns if isinstance(c.type, DateTime | UTCDateTime))
    flags = frozenset(c.name for c in table.columns if isinstance(c.type, Boolean))
    documents = frozenset(c.name for c in table.columns if isinstance(c.type, JSON))
    defaults = tuple(
        (c.name, c.default.arg)
        for c in table.columns
        if c.name in data and isinstance(c.default, ScalarElementColumnDefault)
    )
    return VersionedTable(table, project_column, key, data, stamps, flags, documents, defaults)


@cache
def versioned_tables() -> tuple[VersionedTable, ...]:
    """Every versioned table of the manage database, parents before children."""
    import agentfold_core.db.manage.schema  # noqa: F401 - declares them

    found = (versioned(t) for t in manage_metadata.sorted_tables)
    return tuple(t for t in found if t is not None)


@cache
def versioned_by_name() -> dict[str, VersionedTable]:
    """The versioned tables by name."""
    return {t.name: t for t in versioned_tables()}
