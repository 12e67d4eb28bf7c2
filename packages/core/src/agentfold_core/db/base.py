"""One SQLModel base per database, each with its own registry and naming convention."""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData, Table
from sqlalchemy.orm import registry
from sqlmodel import SQLModel

SCOPE_COLUMN_NAMES = ("tenant_id", "project_id", "branch")


def _key_columns(constraint: Any, _table: Table) -> str:
    # Every key starts with the scope columns; naming by the rest keeps names short
    # and distinct (all-scope keys, such as a link to the parent project, get "scope").
    names = [c.name for c in constraint.columns if c.name not in SCOPE_COLUMN_NAMES]
    return "_".join(names) or "scope"


# Deterministic constraint names, so migrations and drift checks are stable.
NAMING_CONVENTION: dict[str, Any] = {
    "key_columns": _key_columns,
    "ix": "ix_%(table_name)s_%(key_columns)s",
    "uq": "uq_%(table_name)s_%(key_columns)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(key_columns)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

manage_metadata = MetaData(naming_convention=NAMING_CONVENTION)
runtime_metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ManageBase(SQLModel, registry=registry(metadata=manage_metadata)):
    """Base of every table in the versioned manage database."""


class RuntimeBase(SQLModel, registry=registry(metadata=runtime_metadata)):
    """Base of every table in the runtime database."""


# ``Table.info`` key of tables that hold no entity (version control's own tables):
# no registry entry, no routes, not versioned themselves.
INTERNAL = "internal"


def entity_tables(metadata: MetaData) -> list[Table]:
    """The tables of ``metadata`` that hold entities (not internal ones), by name."""
    return sorted(
        (t for t in metadata.tables.values() if not t.info.get(INTERNAL)), key=lambda t: t.name
    )
