"""How autogenerate and the drift check see agentfold's schema.

- A ``SET NULL (col)`` reference is, on SQLite, a plain foreign key plus a trigger:
  the comparison accepts that form (generated revisions manage the triggers, see
  ``agentfold_core.migrations.trigger_ops``).
- Revisions keep the capture triggers of version control on versioned tables
  (``agentfold_core.migrations.capture_ops``).
- Revisions render types at the database level (``UTCDateTime`` is a timezone-aware
  ``DateTime``; ``ExactDecimal`` is NUMERIC with a SQLite variant), so a revision never
  depends on application classes.
- Tables of the other database and its version table are not this environment's
  business when both databases share one server schema.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alembic.autogenerate.api import AutogenContext
from sqlalchemy import ForeignKeyConstraint, MetaData
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import conv
from sqlalchemy.types import TypeDecorator

from agentfold_core.db.foreign_keys import SET_NULL_COLUMN
from agentfold_core.migrations.policy_ops import process_revision_directives
from agentfold_core.migrations.spec import ROLES, EnvironmentSpec, load_metadata

IncludeObject = Callable[[Any, str | None, str, bool, Any], bool]


def _remote_columns(fk: ForeignKeyConstraint) -> list[str]:
    return [element.target_fullname for element in fk.elements]


def is_emulated_set_null(model_fk: Any, database_fk: Any) -> bool:
    """Whether ``database_fk`` is the SQLite form (no ON DELETE) of a SET NULL model FK."""
    if not isinstance(model_fk, ForeignKeyConstraint) or not isinstance(
        database_fk, ForeignKeyConstraint
    ):
        return False
    if model_fk.info.get(SET_NULL_COLUMN) is None:
        return False
    ondelete = (database_fk.ondelete or "").upper()
    return (
        ondelete in ("", "NO ACTION")
        and list(model_fk.column_keys) == list(database_fk.column_keys)
        and _remote_columns(model_fk) == _remote_columns(database_fk)
    )


def include_object_for(spec: EnvironmentSpec, dialect_name: str) -> IncludeObject:
    """The ``include_object`` hook of ``spec``'s environment on ``dialect_name``."""
    others = {name for role in ROLES if role != spec.role for name in load_metadata(role).tables}

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ == "table" and reflected and compare_to is None:
            return not (name or "").startswith("alembic_version_") and name not in others
        if type_ == "foreign_key_constraint" and dialect_name == "sqlite":
            model_fk, database_fk = (compare_to, obj) if reflected else (obj, compare_to)
            return not is_emulated_set_null(model_fk, database_fk)
        return True

    return include


def _name(value: Any) -> str:
    # Names the naming convention produced are marked with op.f(), as Alembic does.
    return f"op.f({str(value)!r})" if isinstance(value, conv) else repr(value)


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Render agentfold's types and SET NULL references; ``False`` leaves Alembic's default."""
    if type_ == "type" and isinstance(obj, JSONB):
        # Alembic's own rendering names Text() without its module prefix.
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return "postgresql.JSONB()"
    if type_ == "type" and isinstance(obj, TypeDecorator):
        impl = obj.impl_instance
        sqlite_impl = getattr(obj, "sqlite_impl", None)
        if sqlite_impl is not None:
            # A type stored differently on SQLite (exact amounts as scaled integers).
            return f"sa.{impl!r}.with_variant(sa.{sqlite_impl!r}, 'sqlite')"
        if type(impl).__module__.startswith("sqlalchemy.sql"):
            return f"sa.{impl!r}"
    if type_ == "foreign_key" and isinstance(obj, ForeignKeyConstraint):
        column = obj.info.get(SET_NULL_COLUMN)
        if column is not None:
            return (
                f"sa.ForeignKeyConstraint({list(obj.column_keys)!r}, {_remote_columns(obj)!r}, "
                f"name={_name(obj.name)}, ondelete={obj.ondelete!r}, "
                f"info={{{SET_NULL_COLUMN!r}: {column!r}}})"
            )
    return False


def context_options(spec: EnvironmentSpec, metadata: MetaData, dialect: str) -> dict[str, Any]:
    """``MigrationContext`` options shared by migrations, autogenerate and the drift check."""
    return {
        "target_metadata": metadata,
        "version_table": spec.version_table,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        "render_as_batch": dialect == "sqlite",
        "compare_type": True,
        "include_object": include_object_for(spec, dialect),
        "render_item": render_item,
        "process_revision_directives": process_revision_directives,
        # Both backends run DDL inside a transaction: a failed upgrade leaves nothing behind.
        "transactional_ddl": True,
    }
