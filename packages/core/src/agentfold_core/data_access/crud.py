"""The one CRUD shape, built per table from its traits: get, list, create, update,
upsert, delete, each curried on the database and scoped by a scope object; plus the
bulk operations whole-project documents need. Rules of an entity are hooks that run
inside the write door, so every caller (a function, a route, a document) applies them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, Protocol, TypeVar

from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import (
    JSON,
    ColumnElement,
    Insert,
    Select,
    Table,
    Text,
    and_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlmodel import SQLModel

from agentfold_core.data_access.doors import Access, Db, reading, writing
from agentfold_core.data_access.scope_keys import Target
from agentfold_core.db.columns import ScopeLevel
from agentfold_core.db.engine import Database
from agentfold_core.db.integrity import domain_errors
from agentfold_core.db.prepared import Prepared, prepare, run
from agentfold_core.db.traits import TableTraits, sa_table
from agentfold_core.db.types import utcnow
from agentfold_core.errors import ValidationFailed
from agentfold_core.ids import is_valid_id, relation_id
from agentfold_core.pagination import DEFAULT_LIMIT, MAX_LIMIT, MAX_PAGE, Page, Pagination
from agentfold_core.scopes import ProjectScope, TenantScope, is_branch_name
from agentfold_core.validation import (
    Data,
    ModelSet,
    generate_models,
    validate_input,
    validation_failed,
)
from agentfold_core.versioning.reads import read_at_ref, read_pinned
from agentfold_core.versioning.tables import branches

RowT = TypeVar("RowT", bound=SQLModel)
RowT_co = TypeVar("RowT_co", bound=SQLModel, covariant=True)
Values = Mapping[str, Any]
RowsHook = Callable[[Access, Sequence[Values]], Awaitable[None]]
_TOTAL = "_agentfold_total"
_HEAD = "_agentfold_head"


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


@dataclass
class Hooks:
    """An entity's rules, run inside the write door before its statements.

    Write hooks receive full rows (insert, upsert) or the key plus the changed columns
    (update); delete hooks receive full keys. Every hook gets a batch, so bulk writes
    of documents run each rule once per statement, not once per row.
    """

    before_insert: list[RowsHook] = field(default_factory=list)
    before_update: list[RowsHook] = field(default_factory=list)
    before_upsert: list[RowsHook] = field(default_factory=list)
    before_delete: list[RowsHook] = field(default_factory=list)

    def before_write(self, hook: RowsHook) -> None:
        """Run ``hook`` before inserts, updates and upserts alike."""
        self.before_insert.append(hook)
        self.before_update.append(hook)
        self.before_upsert.append(hook)


async def _run(hooks: list[RowsHook], access: Access, rows: Sequence[Values]) -> None:
    for hook in hooks:
        await hook(access, rows)


@functools.cache
def _cascaded(table: Table) -> frozenset[str]:
    # The tables a delete of ``table``'s rows may change through foreign keys (ON
    # DELETE CASCADE / SET NULL), transitively: what the commit will find recorded.
    found: set[str] = set()
    todo = [table]
    while todo:
        parent = todo.pop()
        for child in parent.metadata.tables.values():
            if child.name in found:
                continue
            if any(
                fk.column.table is parent and fk.ondelete is not None for fk in child.foreign_keys
            ):
                found.add(child.name)
                todo.append(child)
    return frozenset(found)


class Entity(Generic[RowT]):
    """A table with its scope level, names, validation models, rules and statements."""

    def __init__(
        self,
        table: type[RowT],
        *,
        label: str,
        plural: str,
        path: str,
        id_param: str | None = None,
    ) -> None:
        self.table: Table = sa_table(table)
        self.models: ModelSet[RowT] = generate_models(table)
        self.traits: TableTraits = self.models.traits
        self.label = label
        self.plural = plural
        self.path = path
        self.hooks = Hooks()
        # Name of the keyword giving the row id; None when the scope itself names the
        # row (a project's own row, a tenant's own row).
        self.id_param = None if self.traits.self_scoped else (id_param or f"{label}_id")
        self.key_columns = tuple(c.name for c in self.table.primary_key.columns)
        self.list_level = self._list_level()
        self._columns = frozenset(self.traits.columns)
        self._json_columns = frozenset(
            c.name for c in self.table.columns if isinstance(c.type, JSON)
        )
        # Statements are built once; each call only binds values.
        self._key_where = self._where(self.key_columns)
        self._get_stmt = select(self.table).where(self._key_where)
        self._bulk_insert_stmt = insert(self.table)
        self._delete_stmt = delete(self.table).where(self._key_where)

    def __repr__(self) -> str:
        return f"Entity({self.traits.name})"

    # ------------------------------------------------------------------ keys

    def _where(self, names: Sequence[str], nulls: Sequence[str] = ()) -> ColumnElement[bool]:
        return and_(
            *(self.table.c[n] == bindparam(f"k_{n}") for n in names),
            *(self._is_null(n) for n in nulls),
        )

    def _is_null(self, name: str) -> ColumnElement[bool]:
        column = self.table.c[name]
        if name in self._json_columns:
            # A JSON column holds "no value" as SQL NULL or as JSON null.
            return or_(column.is_(None), cast(column, Text) == "null")
        return column.is_(None)

    def _list_level(self) -> ScopeLevel:
        # A row that *is* its scope is listed from one level up (projects per tenant).
        if self.traits.self_scoped and self.traits.level is ScopeLevel.PROJECT:
            return ScopeLevel.TENANT
        return self.traits.level

    def scope_key(self, target: Target, level: ScopeLevel | None = None) -> dict[str, Any]:
        """Key columns fixed by ``target`` (at the table's level unless given)."""
        return target.key(self.traits, level)

    def key(self, target: Target, ids: Mapping[str, str]) -> dict[str, Any]:
        """The full primary key addressed by ``target`` and the id keyword."""
        values = target.key(self.traits)
        if self.id_param is None:
            if ids:
                raise TypeError(f"{self.label} takes no id keyword, got {sorted(ids)}")
            return values
        if set(ids) != {self.id_param}:
            raise TypeError(f"{self.label} needs exactly the keyword {self.id_param!r}")
        row_id = ids[self.id_param]
        if not is_valid_id(row_id):
            # Checked before any query: a malformed id (a NUL byte...) must not reach the driver.
            raise ValidationFailed(
                f"invalid {self.id_param}",
                errors=[{"field": self.id_param, "message": "not a valid id", "type": "id"}],
                resource=self.label,
            )
        values["id"] = row_id
        return values

    def key_of(self, values: Values) -> dict[str, Any]:
        """The primary key of a full row."""
        return {k: values.get(k) for k in self.key_columns}

    def row(self, mapping: Mapping[Any, Any]) -> RowT:
        """Validate a database row into the Select model."""
        return self.models.select.model_validate(dict(mapping))

    # ------------------------------------------------------------------ values

    def insert_values(self, target: Target, data: Data) -> dict[str, Any]:
        """Column values for a new row: validated input, scope columns, generated fields."""
        model = validate_input(self.models.api_insert, data, self.label)
        values = model.model_dump()
        values.update(target.key(self.traits))
        if self.traits.derived_id:
            values["id"] = self.derived_id(values)
        now = utcnow()
        values["created_at"] = now
        values["updated_at"] = now
        return values

    def derived_id(self, values: Values) -> str:
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

    async def fetch(self, access: Access, key: Values) -> RowT | None:
        """Read one row by its full key."""
        prepared = self._prepared(access.conn.dialect, "get")
        rows = await run(access.conn, prepared, bound(key), point=True)
        return self.row(prepared.row(rows[0])) if rows else None

    async def fetch_at_head(self, access: Access, key: Values) -> tuple[RowT, str] | None:
        """One row of a versioned table by its full key and the head commit of its
        branch, read by one statement (so the two agree); ``None`` when either is
        missing."""
        prepared = self._prepared(access.conn.dialect, "get_head")
        rows = await run(access.conn, prepared, bound(key), point=True)
        if not rows:
            return None
        values = prepared.row(rows[0])
        head = values.pop(_HEAD)
        return None if head is None else (self.row(values), str(head))

    async def fetch_page(
        self, access: Access, *, page: int, limit: int, where: Mapping[str, Any] | None
    ) -> Page[RowT]:
        """One page of the rows in the access's scope, newest first."""
        _check_page(page, limit)
        filters = self.scope_key(access.target, self.list_level)
        fixed = set(filters)
        nulls: list[str] = []
        for name, value in (where or {}).items():
            if name not in self._columns or name in fixed:
                raise ValidationFailed(
                    f"cannot filter {self.label} by {name!r}",
                    errors=[
                        {
                            "field": name,
                            "message": "not a filterable column",
                            "type": "not_filterable",
                        }
                    ],
                )
            if value is None:
                nulls.append(name)
            elif name in self._json_columns:
                # Equality of JSON documents is not portable (SQLite compares text, so
                # key order would decide): JSON columns filter only for "no value".
                raise ValidationFailed(
                    f"cannot filter {self.label} by the value of JSON column {name!r}",
                    errors=[
                        {
                            "field": name,
                            "message": "a JSON column can only be filtered for null",
                            "type": "not_filterable",
                        }
                    ],
                )
            else:
                filters[name] = self._filter_value(name, value)
        shape = (tuple(filters), tuple(sorted(nulls)))
        dialect = access.conn.dialect
        page_stmt = self._prepared(dialect, "page", *shape)
        params = bound(filters)
        # A filter value the column cannot hold is bad input, not a server error.
        with domain_errors(self.label, filters):
            found = await run(
                access.conn,
                page_stmt,
                {**params, "k_limit": limit, "k_offset": (page - 1) * limit},
            )
            rows = [page_stmt.row(r) for r in found]
            if rows:
                total = int(rows[0][_TOTAL])
            elif page == 1:
                total = 0
            else:
                counted = await run(access.conn, self._prepared(dialect, "count", *shape), params)
                total = int(counted[0][0])
        return Page[self.models.select](  # type: ignore[name-defined]
            data=[self.row(r) for r in rows],
            pagination=Pagination(
                page=page, limit=limit, total=total, pages=math.ceil(total / limit)
            ),
        )

    @functools.cache  # noqa: B019 - entities live as long as the process
    def _list_statements(
        self, names: tuple[str, ...], nulls: tuple[str, ...]
    ) -> tuple[Select[Any], Select[Any]]:
        # Built once per set of filter columns. The total is an uncorrelated scalar
        # subquery, evaluated once over the index (no full rows), so a page is one
        # round trip that reads only the rows it returns.
        condition = self._where(names, nulls)
        count = select(func.count()).select_from(self.table).where(condition)
        page = (
            select(self.table, count.scalar_subquery().label(_TOTAL))
            .where(condition)
            .order_by(self.table.c.created_at.desc(), self.table.c.id.desc())
            .limit(bindparam("k_limit"))
            .offset(bindparam("k_offset"))
        )
        return page, count

    @functools.cache  # noqa: B019 - entities live as long as the process
    def _column_adapter(self, name: str) -> TypeAdapter[Any]:
        info = self.models.insert.model_fields[name]
        annotation: Any = info.annotation
        if info.metadata:
            annotation = Annotated[(annotation, *info.metadata)]
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

    async def insert_row(self, access: Access, values: Values, *, last: bool = False) -> RowT:
        """Apply the insert rules, insert prepared values and return the stored row.
        ``last``: the caller's last statement (``Unit.write_last``)."""
        await self._before(self.hooks.before_insert, access, (values,))
        prepared = self._prepared(access.conn.dialect, "insert", *self._value_names(values))
        with domain_errors(self.label, self.key_of(values)):
            rows = await _write_row(access, prepared, _values(values), last=last)
        return self.row(prepared.row(rows[0]))

    async def update_row(
        self, access: Access, key: Values, values: Values, *, last: bool = False
    ) -> RowT | None:
        """Apply the update rules and ``values`` to the row at ``key``; ``None`` if none.
        ``last``: the caller's last statement (``Unit.write_last``)."""
        await self._before(self.hooks.before_update, access, ({**values, **key},))
        prepared = self._prepared(access.conn.dialect, "update", *self._value_names(values))
        with domain_errors(self.label, dict(key)):
            rows = await _write_row(access, prepared, {**_values(values), **bound(key)}, last=last)
        return self.row(prepared.row(rows[0])) if rows else None

    async def upsert_row(self, access: Access, values: Values, *, last: bool = False) -> RowT:
        """Apply the upsert rules; insert ``values`` or replace the row with the same key.
        ``last``: the caller's last statement (``Unit.write_last``)."""
        await self._before(self.hooks.before_upsert, access, (values,))
        prepared = self._prepared(access.conn.dialect, "upsert", *self._value_names(values))
        with domain_errors(self.label, self.key_of(values)):
            rows = await _write_row(access, prepared, _values(values), last=last)
        return self.row(prepared.row(rows[0]))

    async def upsert_many(self, access: Access, rows: Sequence[Values]) -> None:
        """Apply the upsert rules; insert or replace many full rows in one statement."""
        if not rows:
            return
        await self._before(self.hooks.before_upsert, access, rows)
        stmt = self._upsert_statement(access.conn.dialect.name, returning=False)
        with domain_errors(self.label, {}):
            await access.conn.execute(stmt, [dict(r) for r in rows])

    async def save_many(
        self, access: Access, inserted: Sequence[Values], updated: Sequence[Values]
    ) -> None:
        """Write new and changed full rows in one statement; new rows pass the insert
        rules and changed rows the update rules (a document's rows)."""
        if not inserted and not updated:
            return
        if inserted:
            await self._before(self.hooks.before_insert, access, inserted)
        if updated:
            await self._before(self.hooks.before_update, access, updated)
        stmt = self._upsert_statement(access.conn.dialect.name, returning=False)
        with domain_errors(self.label, {}):
            await access.conn.execute(stmt, [dict(r) for r in (*inserted, *updated)])

    async def insert_if_absent(self, access: Access, values: Values) -> bool:
        """Apply the insert rules; insert ``values`` unless a row with its key exists
        (atomic under concurrency). Whether it inserted."""
        await self._before(self.hooks.before_insert, access, (values,))
        stmt = self._insert_missing_statement(access.conn.dialect.name)
        with domain_errors(self.label, self.key_of(values)):
            result = await access.conn.execute(stmt, dict(values))
        return int(result.rowcount) > 0

    async def insert_many(self, access: Access, rows: Sequence[Values]) -> None:
        """Apply the insert rules; insert many full rows in one statement."""
        if not rows:
            return
        await self._before(self.hooks.before_insert, access, rows)
        with domain_errors(self.label, {}):
            await access.conn.execute(self._bulk_insert_stmt, [dict(r) for r in rows])

    async def delete_keys(self, access: Access, keys: Sequence[Values]) -> int:
        """Apply the delete rules; delete the rows at these full keys."""
        if not keys:
            return 0
        await self._before(self.hooks.before_delete, access, keys, deletes=True)
        with domain_errors(self.label, dict(keys[0]) if len(keys) == 1 else {}):
            result = await access.conn.execute(self._delete_stmt, [bound(k) for k in keys])
        return int(result.rowcount)

    async def delete_scope(self, access: Access, prefix: Values) -> int:
        """Delete every row under a key prefix (a whole project, an agent's rows...).

        Rules run per row only where the entity has delete hooks; database cascades
        take care of the children.
        """
        condition = and_(*(self.table.c[n] == v for n, v in prefix.items()))
        if self.hooks.before_delete:
            keys_stmt = select(*self.table.primary_key.columns).where(condition)
            found = await access.conn.execute(keys_stmt)
            keys = [dict(r) for r in found.mappings()]
            await _run(self.hooks.before_delete, access, keys)
        self._record(access, None, deletes=True)
        with domain_errors(self.label, dict(prefix)):
            result = await access.conn.execute(delete(self.table).where(condition))
        return int(result.rowcount)

    def _record(self, access: Access, rows: int | None, *, deletes: bool = False) -> None:
        # Tell the unit which tables it writes (its commit reads their recorded rows in
        # the same round trip as the look for what was recorded) and how many rows: a
        # delete that cascades writes an unknown number.
        tables = _cascaded(self.table) if deletes else ()
        access.unit.wrote(access.target, self.table.name, *tables, rows=None if tables else rows)

    async def _before(
        self,
        hooks: list[RowsHook],
        access: Access,
        rows: Sequence[Values],
        *,
        deletes: bool = False,
    ) -> None:
        self._record(access, len(rows), deletes=deletes)
        await _run(hooks, access, rows)

    def _value_names(self, values: Values) -> tuple[str, ...]:
        unknown = set(values) - self._columns
        if unknown:
            raise TypeError(f"{self.label} has no columns {sorted(unknown)}")
        return tuple(values)

    @functools.cache  # noqa: B019 - entities live as long as the process
    def _prepared(self, dialect: Dialect, kind: str, *shape: Any) -> Prepared:
        # Compiled once per dialect and shape (filter columns, columns written).
        table = self.table
        if kind == "get":
            return prepare(self._get_stmt, dialect)
        if kind == "get_head":
            head = select(branches.c.head).where(
                branches.c.tenant_id == table.c.tenant_id,
                branches.c.project_id == table.c.project_id,
                branches.c.branch == table.c.branch,
            )
            return prepare(self._get_stmt.add_columns(head.scalar_subquery().label(_HEAD)), dialect)
        if kind in ("page", "count"):
            page, count = self._list_statements(*shape)
            return prepare(page if kind == "page" else count, dialect)
        binds = {n: bindparam(f"v_{n}", type_=table.c[n].type) for n in shape}
        if kind == "insert":
            return prepare(insert(table).values(binds).returning(*table.c), dialect)
        if kind == "update":
            stmt = update(table).where(self._key_where).values(binds).returning(*table.c)
            return prepare(stmt, dialect)
        module = postgresql if dialect.name == "postgresql" else sqlite
        upsert = module.insert(table).values(binds)
        replaced = {
            n: upsert.excluded[n] for n in shape if n not in self.key_columns and n != "created_at"
        }
        conflict = upsert.on_conflict_do_update(
            index_elements=list(self.key_columns), set_=replaced
        )
        return prepare(conflict.returning(*table.c), dialect)

    @functools.cache  # noqa: B019 - entities live as long as the process
    def _insert_missing_statement(self, dialect: str) -> Insert:
        module = postgresql if dialect == "postgresql" else sqlite
        stmt: Insert = module.insert(self.table).on_conflict_do_nothing(
            index_elements=list(self.key_columns)
        )
        # Drivers report an INSERT's row count only when asked to keep it.
        return stmt.execution_options(preserve_rowcount=True)

    @functools.cache  # noqa: B019 - entities live as long as the process
    def _upsert_statement(self, dialect: str, *, returning: bool) -> Insert:
        module = postgresql if dialect == "postgresql" else sqlite
        stmt = module.insert(self.table)
        replaced = {
            c.name: stmt.excluded[c.name]
            for c in self.table.columns
            if c.name not in self.key_columns and c.name != "created_at"
        }
        upsert: Insert = stmt.on_conflict_do_update(
            index_elements=list(self.key_columns), set_=replaced
        )
        return upsert.returning(*self.table.c) if returning else upsert

    # ------------------------------------------------------------------ curried API

    def get(self, db: Db) -> GetFn[RowT]:
        """Curried ``get``."""

        async def _get(*, scopes: TenantScope, **ids: str) -> RowT | None:
            if self.traits.versioned and isinstance(scopes, ProjectScope):

                async def fetch(access: Access) -> RowT | None:
                    return await self.fetch(access, self.key(access.target, ids))

                return await read_at_ref(db, scopes, fetch, _is_none)
            async with reading(db, scopes) as access:
                return await self.fetch(access, self.key(access.target, ids))

        return _get

    def get_pinned(self, db: Database) -> Callable[..., Awaitable[tuple[RowT | None, str]]]:
        """Curried ``get`` of a versioned entity at ``scopes.ref`` that also names the
        commit it read: at a branch, the row and the branch head by one statement."""

        async def _get(*, scopes: ProjectScope, **ids: str) -> tuple[RowT | None, str]:
            if is_branch_name(scopes.ref):
                async with reading(db, scopes) as access:
                    found = await self.fetch_at_head(access, self.key(access.target, ids))
                if found is not None:
                    return found

            # No row (or no such branch): the general path tells which, and names the
            # commit of an empty read.
            async def read(unit: Db, at: ProjectScope) -> RowT | None:
                return await self.get(unit)(scopes=at, **ids)

            return await read_pinned(db, scopes, read)

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
            _check_page(page, limit)
            if self.traits.versioned and isinstance(scopes, ProjectScope):

                async def fetch(access: Access) -> Page[RowT]:
                    return await self.fetch_page(access, page=page, limit=limit, where=where)

                return await read_at_ref(db, scopes, fetch, _no_rows)
            async with reading(db, scopes) as access:
                return await self.fetch_page(access, page=page, limit=limit, where=where)

        return _list

    def create(self, db: Db) -> CreateFn[RowT]:
        """Curried ``create``."""

        async def _create(*, scopes: TenantScope, data: Data) -> RowT:
            async with writing(db, scopes) as access:
                values = self.insert_values(access.target, data)
                access.unit.describe(f"Create {self.label} {values['id']}")
                return await self.insert_row(access, values, last=True)

        return _create

    def update(self, db: Db) -> UpdateFn[RowT]:
        """Curried ``update``."""

        async def _update(*, scopes: TenantScope, data: Data, **ids: str) -> RowT | None:
            values = self.update_values(data)
            async with writing(db, scopes) as access:
                key = self.key(access.target, ids)
                access.unit.describe(f"Update {self.label} {key['id']}")
                return await self.update_row(access, key, values, last=True)

        return _update

    def upsert(self, db: Db) -> UpsertFn[RowT]:
        """Curried ``upsert``."""

        async def _upsert(*, scopes: TenantScope, data: Data) -> RowT:
            async with writing(db, scopes) as access:
                values = self.insert_values(access.target, data)
                access.unit.describe(f"Put {self.label} {values['id']}")
                return await self.upsert_row(access, values, last=True)

        return _upsert

    def delete(self, db: Db) -> DeleteFn:
        """Curried ``delete``."""

        async def _delete(*, scopes: TenantScope, **ids: str) -> bool:
            async with writing(db, scopes) as access:
                key = self.key(access.target, ids)
                access.unit.describe(f"Delete {self.label} {key['id']}")
                return await self.delete_keys(access, [key]) > 0

        return _delete


async def _write_row(
    access: Access, prepared: Prepared, values: Mapping[str, Any], *, last: bool
) -> list[Any]:
    if last:
        return await access.unit.write_last(prepared, values)
    return await run(access.conn, prepared, values, point=True)


def _is_none(found: object) -> bool:
    return found is None


def _no_rows(page: Page[Any]) -> bool:
    return page.pagination.total == 0


def _values(values: Values) -> dict[str, Any]:
    return {f"v_{k}": v for k, v in values.items()}


def bound(key: Values) -> dict[str, Any]:
    """Bind values for statements built with ``bindparam("k_<column>")``."""
    return {f"k_{k}": v for k, v in key.items()}


def _check_page(page: int, limit: int) -> None:
    # Bounded before any query: an offset past 64 bits overflows the driver.
    if not 1 <= page <= MAX_PAGE:
        raise ValidationFailed(
            f"page must be 1..{MAX_PAGE}",
            errors=[{"field": "page", "message": f"must be 1..{MAX_PAGE}", "type": "range"}],
        )
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(
            f"limit must be 1..{MAX_LIMIT}",
            errors=[{"field": "limit", "message": f"must be 1..{MAX_LIMIT}", "type": "range"}],
        )
