"""The one CRUD shape, built per table from its traits: get, list, create, update,
upsert, delete, each curried on the database and scoped by a scope object."""

from __future__ import annotations

import functools
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Annotated, Any, Generic, NamedTuple, Protocol, TypeVar

from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import ColumnElement, Table, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from agentfold_core.data_access.connection import Db, reading, writing
from agentfold_core.db.columns import ScopeLevel, key_values
from agentfold_core.db.integrity import domain_errors
from agentfold_core.db.traits import TableTraits, sa_table
from agentfold_core.db.types import utcnow
from agentfold_core.errors import ValidationFailed
from agentfold_core.ids import is_valid_id, relation_id
from agentfold_core.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, Pagination
from agentfold_core.scopes import DEFAULT_BRANCH, ProjectScope, TenantScope
from agentfold_core.validation import (
    Data,
    ModelSet,
    generate_models,
    validate_input,
    validation_failed,
)

RowT = TypeVar("RowT", bound=SQLModel)
_TOTAL = "_agentfold_total"
RowT_co = TypeVar("RowT_co", bound=SQLModel, covariant=True)


class GetFn(Protocol[RowT_co]):
    """``get_x(db)``: the row or ``None``."""

    def __call__(self, *, scopes: TenantScope, **ids: str) -> Awaitable[RowT_co | None]: ...


class ListFn(Protocol[RowT]):
    """``list_x(db)``: one page, newest first."""

    def __call__(
        self,
        *,
        scopes: TenantScope,
        page: int = 1,
        limit: int = DEFAULT_LIMIT,
        where: Mapping[str, Any] | None = None,
    ) -> Awaitable[Page[RowT]]: ...


class CreateFn(Protocol[RowT_co]):
    """``create_x(db)``: the created row."""

    def __call__(self, *, scopes: TenantScope, data: Data) -> Awaitable[RowT_co]: ...


class UpdateFn(Protocol[RowT_co]):
    """``update_x(db)``: the updated row, or ``None`` when it does not exist."""

    def __call__(
        self, *, scopes: TenantScope, data: Data, **ids: str
    ) -> Awaitable[RowT_co | None]: ...


class UpsertFn(Protocol[RowT_co]):
    """``upsert_x(db)``: the created or replaced row."""

    def __call__(self, *, scopes: TenantScope, data: Data) -> Awaitable[RowT_co]: ...


class DeleteFn(Protocol):
    """``delete_x(db)``: whether a row was deleted."""

    def __call__(self, *, scopes: TenantScope, **ids: str) -> Awaitable[bool]: ...


class CrudFunctions(NamedTuple, Generic[RowT]):
    """The six curried functions of one entity, ready to bind to public names."""

    get: Callable[[Db], GetFn[RowT]]
    list: Callable[[Db], ListFn[RowT]]
    create: Callable[[Db], CreateFn[RowT]]
    update: Callable[[Db], UpdateFn[RowT]]
    upsert: Callable[[Db], UpsertFn[RowT]]
    delete: Callable[[Db], DeleteFn]


class Entity(Generic[RowT]):
    """A table with its scope level, validation models and CRUD statements."""

    def __init__(self, table: type[RowT], *, label: str, id_param: str | None = None) -> None:
        self.table: Table = sa_table(table)
        self.models: ModelSet[RowT] = generate_models(table)
        self.traits: TableTraits = self.models.traits
        self.label = label
        # Name of the keyword giving the row id; None when the scope itself names the
        # row (a project's own row, a tenant's own row).
        self.id_param = None if self.traits.self_scoped else (id_param or f"{label}_id")
        self.key_columns = tuple(c.name for c in self.table.primary_key.columns)
        self._columns = set(self.traits.columns)
        self._key_where = self._where(self.key_columns)
        self._get_stmt = select(self.table).where(self._key_where)
        self._scope_level = self._list_level()

    # ------------------------------------------------------------------ keys

    def _where(self, names: Sequence[str]) -> ColumnElement[bool]:
        return and_(*(self.table.c[n] == bindparam(f"k_{n}") for n in names))

    def _list_level(self) -> ScopeLevel:
        # A row that *is* its scope is listed from one level up (projects per tenant).
        if self.traits.self_scoped and self.traits.level is ScopeLevel.PROJECT:
            return ScopeLevel.TENANT
        return self.traits.level

    def scope_values(self, scopes: TenantScope, level: ScopeLevel | None = None) -> dict[str, Any]:
        """Key columns fixed by ``scopes``; a self-scoped row keeps its scope id in ``id``."""
        level = level or self.traits.level
        values = key_values(scopes, level, versioned=self.traits.versioned)
        if not self.traits.self_scoped:
            return values
        if level is ScopeLevel.PROJECT:
            values["id"] = values.pop("project_id")
        elif self.traits.level is ScopeLevel.TENANT:
            values = {"id": values["tenant_id"]}
        elif self.traits.versioned:
            # Projects listed per tenant are read on the scope's ref, else the default branch.
            values["branch"] = scopes.ref if isinstance(scopes, ProjectScope) else DEFAULT_BRANCH
        return values

    def key(self, scopes: TenantScope, ids: Mapping[str, str]) -> dict[str, Any]:
        """The full primary key addressed by ``scopes`` and the id keyword."""
        values = self.scope_values(scopes)
        if self.id_param is None:
            if ids:
                raise TypeError(f"{self.label} takes no id keyword, got {sorted(ids)}")
            return values
        if set(ids) != {self.id_param}:
            raise TypeError(f"{self.label} needs exactly the keyword {self.id_param!r}")
        if not is_valid_id(ids[self.id_param]):
            # Checked before any query: a malformed id (a NUL byte...) must not reach the driver.
            raise ValidationFailed(
                f"invalid {self.id_param}",
                errors=[{"field": self.id_param, "message": "not a valid id", "type": "id"}],
                resource=self.label,
            )
        values["id"] = ids[self.id_param]
        return values

    def row(self, mapping: Mapping[Any, Any]) -> RowT:
        """Validate a database row into the Select model."""
        return self.models.select.model_validate(dict(mapping))

    # ------------------------------------------------------------------ values

    def insert_values(self, scopes: TenantScope, data: Data) -> dict[str, Any]:
        """Column values for a new row: validated input, scope columns, generated fields."""
        model = validate_input(self.models.api_insert, data, self.label)
        values = model.model_dump()
        values.update(self.scope_values(scopes))
        if self.traits.derived_id:
            values["id"] = self.derived_id(values)
        now = utcnow()
        values["created_at"] = now
        values["updated_at"] = now
        return values

    def derived_id(self, values: Mapping[str, Any]) -> str:
        """Relation id from scope ids and natural key; the branch is left out so the
        same relation has the same id on every branch."""
        scope = [c for c in self.traits.scope_columns if c != "branch"]
        return relation_id(*(str(values[c]) for c in (*scope, *self.traits.natural_key)))

    def update_values(self, data: Data) -> dict[str, Any]:
        """Column values a partial update sets (only the fields given)."""
        model = validate_input(self.models.api_update, data, self.label)
        values = model.model_dump(exclude_unset=True)
        values["updated_at"] = utcnow()
        return values

    # ------------------------------------------------------------------ statements

    async def fetch(self, conn: AsyncConnection, key: Mapping[str, Any]) -> RowT | None:
        """Read one row by its full key."""
        result = await conn.execute(self._get_stmt, {f"k_{k}": v for k, v in key.items()})
        mapping = result.mappings().first()
        return None if mapping is None else self.row(mapping)

    async def fetch_page(
        self,
        conn: AsyncConnection,
        scopes: TenantScope,
        *,
        page: int,
        limit: int,
        where: Mapping[str, Any] | None,
    ) -> Page[RowT]:
        """One page of the rows in ``scopes``, newest first."""
        if page < 1 or not 1 <= limit <= MAX_LIMIT:
            raise ValidationFailed(
                f"page must be >= 1 and limit 1..{MAX_LIMIT}",
                errors=[{"field": "page" if page < 1 else "limit", "message": "out of range"}],
            )
        filters = self.scope_values(scopes, self._scope_level)
        fixed = set(filters)
        for name, value in (where or {}).items():
            if name not in self._columns or name in fixed:
                raise ValidationFailed(
                    f"cannot filter {self.label} by {name!r}",
                    errors=[{"field": name, "message": "not a filterable column"}],
                )
            filters[name] = self._filter_value(name, value)
        page_stmt, count_stmt = self._list_statements(tuple(filters))
        params = {f"k_{n}": v for n, v in filters.items()}
        # A filter value the column cannot hold (a NUL byte on PostgreSQL) is bad input.
        with domain_errors(self.label, filters):
            result = await conn.execute(
                page_stmt, {**params, "k_limit": limit, "k_offset": (page - 1) * limit}
            )
            rows = result.mappings().all()
            if rows:
                total = rows[0][_TOTAL]
            elif page == 1:
                total = 0
            else:
                total = (await conn.execute(count_stmt, params)).scalar_one()
        return Page[self.models.select](  # type: ignore[name-defined]
            data=[self.row(r) for r in rows],
            pagination=Pagination(
                page=page, limit=limit, total=total, pages=math.ceil(total / limit)
            ),
        )

    @functools.cache  # noqa: B019 - entities live as long as the process
    def _list_statements(self, names: tuple[str, ...]) -> tuple[Any, Any]:
        # Built once per set of filter columns; the total rides along as a window count,
        # so a non-empty page costs one round trip.
        condition = self._where(names)
        page = (
            select(self.table, func.count().over().label(_TOTAL))
            .where(condition)
            .order_by(self.table.c.created_at.desc(), self.table.c.id.desc())
            .limit(bindparam("k_limit"))
            .offset(bindparam("k_offset"))
        )
        count = select(func.count()).select_from(self.table).where(condition)
        return page, count

    @functools.cache  # noqa: B019 - entities live as long as the process
    def _column_adapter(self, name: str) -> TypeAdapter[Any]:
        field = self.models.insert.model_fields[name]
        annotation: Any = field.annotation
        if field.metadata:
            annotation = Annotated[(annotation, *field.metadata)]
        return TypeAdapter(annotation)

    def _filter_value(self, name: str, value: Any) -> Any:
        # A filter value of the wrong type would reach the driver (a raw error on
        # PostgreSQL); validate it as the column's field.
        try:
            return self._column_adapter(name).validate_python(value)
        except PydanticValidationError as exc:
            raise validation_failed(
                exc, self.label, message=f"invalid filter on {self.label}.{name}", prefix=name
            ) from exc

    async def insert_row(self, conn: AsyncConnection, values: Mapping[str, Any]) -> RowT:
        """Insert prepared values and return the stored row."""
        key = {k: values.get(k) for k in self.key_columns}
        with domain_errors(self.label, key):
            result = await conn.execute(insert(self.table).returning(*self.table.c), values)
        return self.row(result.mappings().one())

    async def update_row(
        self, conn: AsyncConnection, key: Mapping[str, Any], values: Mapping[str, Any]
    ) -> RowT | None:
        """Apply ``values`` to the row at ``key``; ``None`` if there is none."""
        stmt = update(self.table).where(self._key_where).values(**values).returning(*self.table.c)
        with domain_errors(self.label, dict(key)):
            result = await conn.execute(stmt, {f"k_{k}": v for k, v in key.items()})
        mapping = result.mappings().first()
        return None if mapping is None else self.row(mapping)

    async def upsert_row(self, conn: AsyncConnection, values: Mapping[str, Any]) -> RowT:
        """Insert ``values`` or replace the existing row with the same key."""
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(self.table).values(**values)
        replaced = {
            c: stmt.excluded[c] for c in values if c not in self.key_columns and c != "created_at"
        }
        stmt = stmt.on_conflict_do_update(
            index_elements=list(self.key_columns), set_=replaced
        ).returning(*self.table.c)
        key = {k: values.get(k) for k in self.key_columns}
        with domain_errors(self.label, key):
            result = await conn.execute(stmt)
        return self.row(result.mappings().one())

    async def delete_where(self, conn: AsyncConnection, key: Mapping[str, Any]) -> int:
        """Delete the rows matching ``key`` (a full key or a scope prefix)."""
        condition = and_(*(self.table.c[n] == v for n, v in key.items()))
        with domain_errors(self.label, dict(key)):
            result = await conn.execute(delete(self.table).where(condition))
        return int(result.rowcount)

    # ------------------------------------------------------------------ curried API

    def get(self, db: Db) -> GetFn[RowT]:
        """Curried ``get``."""

        async def _get(*, scopes: TenantScope, **ids: str) -> RowT | None:
            key = self.key(scopes, ids)
            async with reading(db) as conn:
                return await self.fetch(conn, key)

        return _get

    def list(self, db: Db) -> ListFn[RowT]:
        """Curried ``list``."""

        async def _list(
            *,
            scopes: TenantScope,
            page: int = 1,
            limit: int = DEFAULT_LIMIT,
            where: Mapping[str, Any] | None = None,
        ) -> Page[RowT]:
            async with reading(db) as conn:
                return await self.fetch_page(conn, scopes, page=page, limit=limit, where=where)

        return _list

    def create(self, db: Db) -> CreateFn[RowT]:
        """Curried ``create``."""

        async def _create(*, scopes: TenantScope, data: Data) -> RowT:
            values = self.insert_values(scopes, data)
            async with writing(db) as conn:
                return await self.insert_row(conn, values)

        return _create

    def update(self, db: Db) -> UpdateFn[RowT]:
        """Curried ``update``."""

        async def _update(*, scopes: TenantScope, data: Data, **ids: str) -> RowT | None:
            key = self.key(scopes, ids)
            values = self.update_values(data)
            async with writing(db) as conn:
                return await self.update_row(conn, key, values)

        return _update

    def upsert(self, db: Db) -> UpsertFn[RowT]:
        """Curried ``upsert``."""

        async def _upsert(*, scopes: TenantScope, data: Data) -> RowT:
            values = self.insert_values(scopes, data)
            async with writing(db) as conn:
                return await self.upsert_row(conn, values)

        return _upsert

    def delete(self, db: Db) -> DeleteFn:
        """Curried ``delete``."""

        async def _delete(*, scopes: TenantScope, **ids: str) -> bool:
            key = self.key(scopes, ids)
            async with writing(db) as conn:
                return await self.delete_where(conn, key) > 0

        return _delete

    def functions(self) -> CrudFunctions[RowT]:
        """The six curried functions, for binding to public names."""
        return CrudFunctions(
            self.get, self.list, self.create, self.update, self.upsert, self.delete
        )
