"""The one generator of validation models: Select, Insert, Update and their Api variants.

Refinements (id rules, lengths, enums, JSON content types) live on the row classes
beside the columns; the generator copies them, so they are declared exactly once. Input
models also get the refinements of the column's kind (``db.fields.column_refinements``:
no NUL in text, bounded JSON), so no table can leave them out.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar, Union, cast, get_args, get_origin

from pydantic import BaseModel, ConfigDict, create_model
from pydantic.fields import FieldInfo
from sqlmodel import Field, SQLModel

from agentfold_core.db.fields import column_refinements
from agentfold_core.db.traits import TableTraits, sa_table, table_traits
from agentfold_core.ids import generate_id

RowT = TypeVar("RowT", bound=SQLModel)

_INPUT_CONFIG = ConfigDict(extra="forbid", str_strip_whitespace=False)
_OUTPUT_CONFIG = ConfigDict(from_attributes=True)


@dataclass(frozen=True, slots=True)
class ModelSet(Generic[RowT]):
    """The six validation models of one table."""

    traits: TableTraits
    select: type[RowT]
    insert: type[BaseModel]
    update: type[BaseModel]
    api_select: type[BaseModel]
    api_insert: type[BaseModel]
    api_update: type[BaseModel]


def _field_spec(
    info: FieldInfo, *, optional: bool = False, refinements: tuple[Any, ...] = ()
) -> tuple[Any, FieldInfo]:
    # Pydantic keeps constraints as metadata; SQLModel adds its own column metadata,
    # which means nothing to validation and is dropped.
    metadata = [m for m in info.metadata if not type(m).__module__.startswith("sqlmodel")]
    metadata.extend(refinements)
    annotation: Any = info.annotation
    if metadata:
        annotation = Annotated[(annotation, *metadata)]
    if optional:
        return annotation, Field(default=None, description=info.description)
    if info.default_factory is not None:
        factory = cast(Callable[[], Any], info.default_factory)
        return annotation, Field(default_factory=factory, description=info.description)
    if info.default is None and not _accepts_none(info.annotation):
        # A column that cannot hold null (a tool's config) with the column helper's
        # ``None`` default: required on input, never stored as JSON null.
        return annotation, Field(description=info.description)
    return annotation, Field(default=info.default, description=info.description)


def _accepts_none(annotation: Any) -> bool:
    if annotation is Any or annotation is None or annotation is type(None):
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_accepts_none(a) for a in get_args(annotation))
    if get_origin(annotation) is Annotated:
        return _accepts_none(get_args(annotation)[0])
    return False


def _model(
    name: str, fields: dict[str, tuple[Any, FieldInfo]], config: ConfigDict
) -> type[BaseModel]:
    return create_model(name, __config__=config, **fields)  # type: ignore[call-overload, no-any-return]


def generate_models(table: type[RowT]) -> ModelSet[RowT]:
    """Generate the validation models of ``table`` (a SQLModel table class)."""
    row = _row_class(table)
    traits = table_traits(table)
    fields = row.model_fields
    base = table.__name__
    columns = sa_table(table).c
    refine = {n: column_refinements(columns.get(n)) for n in fields}

    insert_fields = {n: _field_spec(f, refinements=refine[n]) for n, f in fields.items()}
    if traits.derived_id:
        insert_fields["id"] = _field_spec(fields["id"], optional=True, refinements=refine["id"])

    immutable = {*traits.scope_columns, "id", "created_at", *traits.natural_key, *traits.immutable}
    update_fields = {
        n: _field_spec(f, optional=True, refinements=refine[n])
        for n, f in fields.items()
        if n not in immutable and n not in traits.server_generated
    }

    api_hidden = {*traits.scope_columns, *traits.secrets}
    api_select_fields = {n: _field_spec(f) for n, f in fields.items() if n not in api_hidden}

    api_insert_fields = {
        n: spec
        for n, spec in insert_fields.items()
        if n not in traits.scope_columns and n not in traits.server_generated
    }
    if "id" in api_insert_fields and not traits.derived_id:
        annotation, _ = api_insert_fields["id"]
        api_insert_fields["id"] = (annotation, Field(default_factory=generate_id))

    api_update_fields = {
        n: spec for n, spec in update_fields.items() if n not in traits.scope_columns
    }

    return ModelSet(
        traits=traits,
        select=row,
        insert=_model(f"{base}Insert", insert_fields, _INPUT_CONFIG),
        update=_model(f"{base}Update", update_fields, _INPUT_CONFIG),
        api_select=_model(f"{base}ApiSelect", api_select_fields, _OUTPUT_CONFIG),
        api_insert=_model(f"{base}ApiInsert", api_insert_fields, _INPUT_CONFIG),
        api_update=_model(f"{base}ApiUpdate", api_update_fields, _INPUT_CONFIG),
    )


def _row_class(table: type[RowT]) -> type[RowT]:
    # Tables are declared as ``class X(XRow, <DatabaseBase>, table=True)``.
    row = table.__bases__[0]
    if not issubclass(row, SQLModel) or getattr(row, "__table__", None) is not None:
        raise TypeError(f"{table.__name__} must list its row class first")
    return row  # type: ignore[return-value]
