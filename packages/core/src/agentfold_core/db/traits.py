"""What the validation generator and the data layer need to know about a table."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table
from sqlmodel import SQLModel

from agentfold_core.db.columns import ScopeLevel
from agentfold_core.db.fields import DERIVED_ID, IMMUTABLE, SECRET, SERVER_GENERATED


@dataclass(frozen=True, slots=True)
class TableTraits:
    """Scope, generated and secret columns of one table."""

    name: str
    level: ScopeLevel
    versioned: bool
    self_scoped: bool
    scope_columns: tuple[str, ...]
    columns: tuple[str, ...]
    server_generated: frozenset[str]
    secrets: frozenset[str]
    immutable: frozenset[str]
    derived_id: bool
    natural_key: tuple[str, ...]


def sa_table(table: type[SQLModel]) -> Table:
    """The SQLAlchemy ``Table`` behind a SQLModel table class."""
    result = getattr(table, "__table__", None)
    if not isinstance(result, Table):
        raise TypeError(f"{table.__name__} is not a table class")
    return result


def table_traits(table: type[SQLModel]) -> TableTraits:
    """Read scope, generated and secret columns off a table class."""
    t = sa_table(table)
    primary = [c.name for c in t.primary_key.columns]
    return TableTraits(
        name=t.name,
        level=getattr(table, "__scope_level__"),  # noqa: B009 - declared by the key mixins
        versioned=bool(getattr(table, "__versioned__", False)),
        self_scoped=bool(getattr(table, "__self_scoped__", False)),
        scope_columns=tuple(c for c in primary if c != "id"),
        columns=tuple(c.name for c in t.columns),
        server_generated=frozenset(c.name for c in t.columns if c.info.get(SERVER_GENERATED)),
        secrets=frozenset(c.name for c in t.columns if c.info.get(SECRET)),
        immutable=frozenset(c.name for c in t.columns if c.info.get(IMMUTABLE)),
        derived_id=any(c.info.get(DERIVED_ID) for c in t.columns),
        natural_key=tuple(getattr(table, "__natural_key__", ())),
    )
