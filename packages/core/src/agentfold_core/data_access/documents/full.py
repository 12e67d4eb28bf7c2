"""Whole projects and agents as one JSON document: read, create or replace.

``put_full_project`` validates the document, checks every reference inside it, then in
one manage transaction deletes the rows the document no longer names and upserts the
rest (parents first; unchanged rows are left untouched, so their ``updated_at`` and
any later version history stay quiet).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Dialect,
    and_,
    bindparam,
    delete,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from agentfold_core.data_access.connection import Db, reading, writing
from agentfold_core.data_access.documents.models import document_fields, document_model
from agentfold_core.data_access.documents.tree import AGENT_NODE, PROJECT_NODE, Node
from agentfold_core.data_access.manage.agents import SOFT_REFERENCES
from agentfold_core.data_access.project_lifecycle import (
    create_project,
    delete_project,
    project_exists,
)
from agentfold_core.db.base import manage_metadata
from agentfold_core.db.engine import Database
from agentfold_core.db.integrity import domain_errors
from agentfold_core.db.types import utcnow
from agentfold_core.errors import NotFound, ValidationFailed
from agentfold_core.scopes import DEFAULT_BRANCH, AgentScope, ProjectScope, TenantScope
from agentfold_core.validation import validation_failed

Document = dict[str, Any]
_TABLE_ORDER = {t.name: i for i, t in enumerate(manage_metadata.sorted_tables)}


# --------------------------------------------------------------------------- reading


def _scope_filter(scopes: ProjectScope) -> dict[str, str]:
    return {"tenant_id": scopes.tenant_id, "project_id": scopes.project_id, "branch": scopes.ref}


Rows = dict[Node, dict[tuple[Any, ...], list[dict[str, Any]]]]


def _row_json(node: Node, dialect: str) -> ColumnElement[Any]:
    # One JSON object per row with just the columns a document needs, so the whole
    # tree comes back from a single UNION ALL statement in one round trip.
    table = node.entity.table
    traits = node.entity.traits
    wanted = dict.fromkeys((*document_fields(node), *node.link_columns, *traits.natural_key, "id"))
    pairs: list[Any] = []
    for name in wanted:
        column = table.c[name]
        value: Any = column
        if dialect == "sqlite" and isinstance(column.type, JSON):
            value = func.json(column)  # stored as text: embed as JSON, not as a string
        pairs += [literal_column(f"'{name}'"), value]
    builder = func.json_object if dialect == "sqlite" else func.json_build_object
    return builder(*pairs)


@dataclass(frozen=True)
class _TreeQuery:
    """A whole-tree read compiled once per root and dialect: SQL text and bind order."""

    sql: str
    positional: tuple[str, ...] | None  # bind names in order, for qmark drivers

    def params(self, values: Mapping[str, Any]) -> Any:
        """Driver parameters for ``values`` keyed by bind name."""
        if self.positional is None:
            return dict(values)
        return tuple(values[name] for name in self.positional)


@cache
def _tree_query(root: Node, dialect: Dialect) -> _TreeQuery:
    nodes = root.walk()
    parts = []
    for index, node in enumerate(nodes):
        table = node.entity.table
        # The root row by its own key; everything else by the scope filters.
        names = ("tenant_id", "project_id", "branch")
        if node is root:
            key = {c.name: c.name for c in table.primary_key.columns}
            key["id"] = "root_id"
        else:
            key = {c: c for c in names}
            if "agent_id" in table.c and root is AGENT_NODE:
                key["agent_id"] = "root_id"
        where = and_(*(table.c[c] == bindparam(b) for c, b in key.items()))
        node_json = _row_json(node, dialect.name)
        parts.append(select(literal_column(str(index)), node_json).where(where))
    compiled = union_all(*parts).compile(dialect=dialect)
    positional = tuple(compiled.positiontup or ()) if compiled.positional else None
    return _TreeQuery(str(compiled), positional)


def _boolean_columns(node: Node) -> tuple[str, ...]:
    return tuple(c.name for c in node.entity.table.columns if isinstance(c.type, Boolean))


def _sort_key(node: Node) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    # Natural-key order, so a document reads the same in every project, branch and
    # backend (derived ids hash the scope and would shuffle lists).
    names = (*node.entity.traits.natural_key, "id")
    return lambda row: tuple(str(row[n]) for n in names)


async def _read_tree(
    conn: AsyncConnection, root: Node, scopes: ProjectScope, root_id: str
) -> Document | None:
    nodes = root.walk()
    query = _tree_query(root, conn.dialect)
    values = {**_scope_filter(scopes), "root_id": root_id}
    rows: Rows = {node: defaultdict(list) for node in nodes}
    booleans = {node: _boolean_columns(node) for node in nodes}
    result = await conn.exec_driver_sql(query.sql, query.params(values))
    for index, raw in cast(list[tuple[Any, Any]], result.all()):
        node = nodes[int(index)]
        data: dict[str, Any] = json.loads(raw) if isinstance(raw, str) else raw
        for name in booleans[node]:
            if data.get(name) is not None:
                data[name] = bool(data[name])  # SQLite's JSON has no booleans
        rows[node][tuple(data[c] for c in node.link_columns)].append(data)
    for node in nodes:
        for group in rows[node].values():
            group.sort(key=_sort_key(node))
    top = rows[root].get((), [])
    return _object(root, top[0], (), rows) if top else None


def _object(node: Node, row: Mapping[str, Any], path: tuple[Any, ...], rows: Rows) -> Document:
    obj: Document = {f: row[f] for f in document_fields(node)}
    child_path = (*path, row["id"])
    for child in node.children:
        # Project-level children (no link columns) hang off the project itself.
        key = child_path if child.link_columns else ()
        children = rows[child].get(key, [])
        if child.keyed:
            obj[child.key] = {r["id"]: _object(child, r, key, rows) for r in children}
        else:
            obj[child.key] = [_object(child, r, key, rows) for r in children]
    return obj


def get_full_project(manage: Db) -> Callable[..., Awaitable[Document | None]]:
    """Curried: the whole project at ``scopes.ref`` as one document, or ``None``."""

    async def _get(*, scopes: ProjectScope) -> Document | None:
        async with reading(manage) as conn:
            return await _read_tree(conn, PROJECT_NODE, scopes, scopes.project_id)

    return _get


def get_full_agent(manage: Db) -> Callable[..., Awaitable[Document | None]]:
    """Curried: one agent with everything under it, or ``None``."""

    async def _get(*, scopes: AgentScope) -> Document | None:
        async with reading(manage) as conn:
            return await _read_tree(conn, AGENT_NODE, scopes, scopes.agent_id)

    return _get


async def _exists(conn: AsyncConnection, node: Node, key: Mapping[str, Any]) -> bool:
    table = node.entity.table
    stmt = select(literal(1)).where(and_(*(table.c[c] == v for c, v in key.items())))
    return (await conn.execute(stmt)).first() is not None


# --------------------------------------------------------------------------- writing


@dataclass
class _Row:
    node: Node
    values: dict[str, Any]
    where: str  # document path, for error messages


def _with_ids(node: Node, raw: Any) -> Any:
    # In ``{id: object}`` collections the key is the id; objects may omit it.
    if not isinstance(raw, Mapping):
        return raw
    out = dict(raw)
    for child in node.children:
        value = out.get(child.key)
        if child.keyed and isinstance(value, Mapping):
            out[child.key] = {
                k: _with_ids(child, {"id": k, **v} if isinstance(v, Mapping) else v)
                for k, v in value.items()
            }
        elif not child.keyed and isinstance(value, list):
            out[child.key] = [_with_ids(child, v) for v in value]
    return out


def _validate(node: Node, document: Mapping[str, Any] | BaseModel, what: str) -> BaseModel:
    model = document_model(node)
    raw = document.model_dump() if isinstance(document, BaseModel) else document
    try:
        return model.model_validate(_with_ids(node, raw))
    except PydanticValidationError as exc:
        raise validation_failed(exc, what) from exc


def _flatten(
    node: Node,
    obj: BaseModel,
    base: Mapping[str, Any],
    path: tuple[Any, ...],
    where: str,
    out: list[_Row],
) -> None:
    columns = node.entity.traits.columns
    values = obj.model_dump(include=set(document_fields(node)))
    values.update((k, v) for k, v in base.items() if k in columns)
    values.update(zip(node.link_columns, path, strict=True))
    if node.entity.traits.derived_id:
        values["id"] = node.entity.derived_id(values)
    out.append(_Row(node, values, where))
    child_path = (*path, values["id"])
    for child in node.children:
        collection = getattr(obj, child.key)
        items = collection.items() if child.keyed else enumerate(collection)
        for key, item in items:
            sub = f"{where}.{child.key}.{key}" if child.keyed else f"{where}.{child.key}[{key}]"
            sub = sub.lstrip(".")
            if child.keyed and item.id != key:
                raise ValidationFailed(
                    "document key and id differ",
                    errors=[{"field": f"{sub}.id", "message": "must equal its key"}],
                )
            _flatten(child, item, base, child_path if child.link_columns else (), sub, out)


def _check_references(rows: list[_Row], partial: frozenset[str] = frozenset()) -> None:
    """Every reference to a table the document holds in full names a row of it.

    References to tables outside it, or held only in part (``partial``: an agent
    document holds one agent of the project), are left to the database foreign keys.
    """
    keys: dict[str, set[tuple[Any, ...]]] = defaultdict(set)
    for row in rows:
        table = row.node.entity.table
        keys[table.name].add(tuple(row.values[c.name] for c in table.primary_key.columns))
    present = {row.node.entity.table.name for row in rows} - partial
    errors: list[dict[str, str]] = []
    for row in rows:
        table = row.node.entity.table
        for fk in table.foreign_key_constraints:
            target = fk.referred_table.name
            if target not in present:
                continue
            local = tuple(row.values.get(c) for c in fk.column_keys)
            if None in local:
                continue
            if local not in keys[target]:
                column = fk.column_keys[-1]
                errors.append(
                    {
                        "field": f"{row.where}.{column}",
                        "message": f"no {target} row {local[-1]!r} in this document",
                    }
                )
        if row.node.entity is AGENT_NODE.entity:
            errors.extend(_agent_soft_references(row, keys))
    if errors:
        raise ValidationFailed("document has dangling references", errors=errors)


def _agent_soft_references(
    row: _Row, keys: Mapping[str, set[tuple[Any, ...]]]
) -> list[dict[str, str]]:
    # The default sub-agent and context config have no FK (it would be a cycle).
    v = row.values
    prefix = (v["tenant_id"], v["project_id"], v["branch"], v["id"])
    errors = []
    for column, entity in SOFT_REFERENCES:
        target = entity.table.name
        if v.get(column) is not None and (*prefix, v[column]) not in keys.get(target, set()):
            errors.append(
                {"field": f"{row.where}.{column}", "message": f"no {target} row {v[column]!r}"}
            )
    return errors


async def _existing_keys(
    conn: AsyncConnection, node: Node, filters: Mapping[str, Any]
) -> set[tuple[Any, ...]]:
    table = node.entity.table
    pk = list(table.primary_key.columns)
    stmt = select(*pk).where(and_(*(table.c[c] == v for c, v in filters.items())))
    return {tuple(r) for r in (await conn.execute(stmt)).all()}


async def _delete_orphans(
    conn: AsyncConnection, nodes: list[Node], rows: list[_Row], filters: Mapping[str, Any]
) -> None:
    wanted: dict[Node, set[tuple[Any, ...]]] = defaultdict(set)
    for row in rows:
        table = row.node.entity.table
        wanted[row.node].add(tuple(row.values[c.name] for c in table.primary_key.columns))
    # Children first; cascades would remove them anyway, but this keeps counts exact.
    for node in sorted(nodes, key=lambda n: -_TABLE_ORDER[n.entity.table.name]):
        table = node.entity.table
        orphans = await _existing_keys(conn, node, filters) - wanted[node]
        if not orphans:
            continue
        pk = [c.name for c in table.primary_key.columns]
        stmt = delete(table).where(and_(*(table.c[c] == bindparam(f"k_{c}") for c in pk)))
        params = [{f"k_{c}": v for c, v in zip(pk, key, strict=True)} for key in orphans]
        await conn.execute(stmt, params)


async def _upsert(conn: AsyncConnection, node: Node, rows: list[dict[str, Any]]) -> None:
    table = node.entity.table
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    pk = [c.name for c in table.primary_key.columns]
    data = [c for c in rows[0] if c not in pk and c not in ("created_at", "updated_at")]
    stmt = stmt.on_conflict_do_update(
        index_elements=pk,
        set_={c: stmt.excluded[c] for c in [*data, "updated_at"]},
        # Unchanged rows are not rewritten.
        where=or_(*(table.c[c].is_distinct_from(stmt.excluded[c]) for c in data)),
    )
    with domain_errors(node.entity.label, {}):
        await conn.execute(stmt, rows)


async def _write_tree(
    conn: AsyncConnection, root: Node, rows: list[_Row], filters: Mapping[str, Any]
) -> None:
    nodes = [n for n in root.walk() if n is not root]
    await _delete_orphans(conn, nodes, rows, filters)
    now = utcnow()
    by_node: dict[Node, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_node[row.node].append({**row.values, "created_at": now, "updated_at": now})
    for node in sorted(by_node, key=lambda n: _TABLE_ORDER[n.entity.table.name]):
        await _upsert(conn, node, by_node[node])


def put_full_project(manage: Database, runtime: Database) -> Callable[..., Awaitable[Document]]:
    """Curried: create or replace a whole project from one document; returns it re-read."""

    async def _put(*, scopes: ProjectScope, document: Mapping[str, Any] | BaseModel) -> Document:
        obj = _validate(PROJECT_NODE, document, "project document")
        if getattr(obj, "id") != scopes.project_id:  # noqa: B009 - generated model
            raise ValidationFailed(
                "document id differs from the project id in the path",
                errors=[{"field": "id", "message": f"must be {scopes.project_id!r}"}],
            )
        rows: list[_Row] = []
        _flatten(PROJECT_NODE, obj, _scope_filter(scopes), (), "", rows)
        _check_references(rows)
        created = not await project_exists(runtime)(scopes=scopes)
        if created:
            await create_project(manage, runtime)(
                scopes=TenantScope(scopes.tenant_id),
                data={"id": scopes.project_id, "name": getattr(obj, "name")},  # noqa: B009
            )
        try:
            async with writing(manage) as conn:
                await _write_tree(conn, PROJECT_NODE, rows, _scope_filter(scopes))
                result = await get_full_project(conn)(scopes=scopes)
        except BaseException:
            # A project this call created must not outlive its failed import.
            if created:
                await delete_project(manage, runtime)(scopes=scopes.at(DEFAULT_BRANCH))
            raise
        assert result is not None
        return result

    return _put


def put_full_agent(manage: Db) -> Callable[..., Awaitable[Document]]:
    """Curried: create or replace one agent and everything under it."""

    async def _put(*, scopes: AgentScope, document: Mapping[str, Any] | BaseModel) -> Document:
        raw = document.model_dump() if isinstance(document, BaseModel) else dict(document)
        raw.setdefault("id", scopes.agent_id)
        obj = _validate(AGENT_NODE, raw, "agent document")
        if getattr(obj, "id") != scopes.agent_id:  # noqa: B009 - generated model
            raise ValidationFailed(
                "document id differs from the agent id in the path",
                errors=[{"field": "id", "message": f"must be {scopes.agent_id!r}"}],
            )
        rows: list[_Row] = []
        _flatten(AGENT_NODE, obj, _scope_filter(scopes), (), "", rows)
        _check_references(rows, partial=frozenset({AGENT_NODE.entity.table.name}))
        async with writing(manage) as conn:
            project_key = PROJECT_NODE.entity.scope_values(scopes.project())
            if not await _exists(conn, PROJECT_NODE, project_key):
                raise NotFound("project not found", resource="project", key=scopes.project_id)
            filters = {**_scope_filter(scopes), "agent_id": scopes.agent_id}
            await _write_tree(conn, AGENT_NODE, rows, filters)
            result = await get_full_agent(conn)(scopes=scopes)
        assert result is not None
        return result

    return _put
