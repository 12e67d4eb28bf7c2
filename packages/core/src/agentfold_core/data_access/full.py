"""Whole projects and agents as one JSON document: read, create or replace.

``put_full_project`` validates the document, checks every reference inside it, then in
one manage transaction deletes the rows the document no longer names and upserts the
rest (parents first; unchanged rows are left untouched, so their ``updated_at`` and
any later version history stay quiet).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import RowMapping, and_, bindparam, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from agentfold_core.data_access.connection import Db, reading, writing
from agentfold_core.data_access.crud import validation_failed
from agentfold_core.data_access.documents import document_fields, document_model
from agentfold_core.data_access.graph import AGENT_NODE, PROJECT_NODE, Node
from agentfold_core.data_access.projects import create_project, project_exists
from agentfold_core.db.base import manage_metadata
from agentfold_core.db.engine import Database
from agentfold_core.db.integrity import domain_errors
from agentfold_core.db.types import utcnow
from agentfold_core.errors import NotFound, ValidationFailed
from agentfold_core.scopes import AgentScope, ProjectScope, TenantScope

Document = dict[str, Any]
_TABLE_ORDER = {t.name: i for i, t in enumerate(manage_metadata.sorted_tables)}


# --------------------------------------------------------------------------- reading


def _scope_filter(scopes: ProjectScope) -> dict[str, str]:
    return {"tenant_id": scopes.tenant_id, "project_id": scopes.project_id, "branch": scopes.ref}


async def _rows_by_link(
    conn: AsyncConnection, node: Node, filters: Mapping[str, str]
) -> dict[tuple[Any, ...], list[RowMapping]]:
    table = node.entity.table
    stmt = (
        select(table)
        .where(and_(*(table.c[c] == v for c, v in filters.items())))
        # Natural-key order, so a document reads the same in every project and branch
        # (derived ids hash the scope and would shuffle lists).
        .order_by(*(table.c[c] for c in node.entity.traits.natural_key), table.c.id)
    )
    grouped: dict[tuple[Any, ...], list[RowMapping]] = defaultdict(list)
    for row in (await conn.execute(stmt)).mappings():
        grouped[tuple(row[c] for c in node.link_columns)].append(row)
    return grouped


def _object(
    node: Node,
    row: RowMapping,
    path: tuple[Any, ...],
    rows: Mapping[Node, Mapping[tuple[Any, ...], list[RowMapping]]],
) -> Document:
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


async def _read_tree(
    conn: AsyncConnection, root: Node, filters: Mapping[str, str], root_row: RowMapping
) -> Document:
    rows = {node: await _rows_by_link(conn, node, filters) for node in root.walk()[1:]}
    return _object(root, root_row, (), rows)


def get_full_project(manage: Db) -> Callable[..., Awaitable[Document | None]]:
    """Curried: the whole project at ``scopes.ref`` as one document, or ``None``."""

    async def _get(*, scopes: ProjectScope) -> Document | None:
        async with reading(manage, snapshot=True) as conn:
            key = PROJECT_NODE.entity.scope_values(scopes)
            root = await _fetch_mapping(conn, PROJECT_NODE, key)
            if root is None:
                return None
            return await _read_tree(conn, PROJECT_NODE, _scope_filter(scopes), root)

    return _get


def get_full_agent(manage: Db) -> Callable[..., Awaitable[Document | None]]:
    """Curried: one agent with everything under it, or ``None``."""

    async def _get(*, scopes: AgentScope) -> Document | None:
        async with reading(manage, snapshot=True) as conn:
            key = {**_scope_filter(scopes), "id": scopes.agent_id}
            root = await _fetch_mapping(conn, AGENT_NODE, key)
            if root is None:
                return None
            filters = {**_scope_filter(scopes), "agent_id": scopes.agent_id}
            return await _read_tree(conn, AGENT_NODE, filters, root)

    return _get


async def _fetch_mapping(
    conn: AsyncConnection, node: Node, key: Mapping[str, Any]
) -> RowMapping | None:
    table = node.entity.table
    stmt = select(table).where(and_(*(table.c[c] == v for c, v in key.items())))
    return (await conn.execute(stmt)).mappings().first()


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
        if table.name == "agents":
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
    for column, target in (
        ("default_sub_agent_id", "sub_agents"),
        ("context_config_id", "context_configs"),
    ):
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
        if not await project_exists(runtime)(scopes=scopes):
            await create_project(manage, runtime)(
                scopes=TenantScope(scopes.tenant_id),
                data={"id": scopes.project_id, "name": getattr(obj, "name")},  # noqa: B009
            )
        async with writing(manage) as conn:
            await _write_tree(conn, PROJECT_NODE, rows, _scope_filter(scopes))
            result = await get_full_project(conn)(scopes=scopes)
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
            if await _fetch_mapping(conn, PROJECT_NODE, project_key) is None:
                raise NotFound("project not found", resource="project", key=scopes.project_id)
            filters = {**_scope_filter(scopes), "agent_id": scopes.agent_id}
            await _write_tree(conn, AGENT_NODE, rows, filters)
            result = await get_full_agent(conn)(scopes=scopes)
        assert result is not None
        return result

    return _put
