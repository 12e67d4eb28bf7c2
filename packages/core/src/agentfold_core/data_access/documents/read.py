"""Reading whole projects and agents as one JSON document: every row of the tree in
one ``UNION ALL`` statement of per-row JSON objects, compiled once per root and
dialect, then assembled in natural-key order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Dialect,
    and_,
    bindparam,
    func,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from agentfold_core.data_access.documents.models import document_fields
from agentfold_core.data_access.documents.tree import AGENT_NODE, PROJECT_NODE, Node
from agentfold_core.data_access.doors import Access, Db
from agentfold_core.db.json_text import loads
from agentfold_core.scopes import AgentScope, ProjectScope
from agentfold_core.versioning.past_rows import rows_at
from agentfold_core.versioning.reads import read_at_ref

Document = dict[str, Any]
_SCOPE = ("tenant_id", "project_id", "branch")

Rows = dict[Node, dict[tuple[Any, ...], list[dict[str, Any]]]]


@cache
def stored_fields(node: Node) -> tuple[str, ...]:
    """The columns a stored row of ``node`` is read with: its document fields, the ids
    of its ancestors, its natural key and id (what a write compares against)."""
    traits = node.entity.traits
    names = (*document_fields(node), *node.link_columns, *traits.natural_key, "id")
    return tuple(dict.fromkeys(names))


def _row_json(node: Node, dialect: str) -> ColumnElement[Any]:
    # One JSON object per row with just the columns a document needs, so the whole
    # tree comes back from a single UNION ALL statement in one round trip.
    table = node.entity.table
    pairs: list[Any] = []
    for name in stored_fields(node):
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
        names = _SCOPE
        if node is root:
            key = {c.name: c.name for c in table.primary_key.columns}
            key["id"] = "root_id"
        else:
            key = {c: c for c in names}
            if "agent_id" in table.c and root is AGENT_NODE:
                key["agent_id"] = "root_id"
        where = and_(*(table.c[c] == bindparam(b) for c, b in key.items()))
        node_json = _row_json(node, dialect.name)
        parts.append(
            select(literal_column(str(index)).label("n"), node_json.label("r")).where(where)
        )
    # The rows come back as one JSON array of [node index, row] pairs: one value for
    # the driver to fetch and one parse, whatever the size of the project.
    rows = union_all(*parts).subquery("t")
    if dialect.name == "sqlite":
        pairs = func.json_group_array(func.json_array(rows.c.n, func.json(rows.c.r)))
    else:
        pairs = func.json_agg(func.json_build_array(rows.c.n, rows.c.r))
    compiled = select(pairs).compile(dialect=dialect)
    positional = tuple(compiled.positiontup or ()) if compiled.positional else None
    return _TreeQuery(str(compiled), positional)


def _boolean_columns(node: Node) -> tuple[str, ...]:
    return tuple(c.name for c in node.entity.table.columns if isinstance(c.type, Boolean))


def _sort_key(node: Node) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    # Natural-key order, so a document reads the same in every project, branch and
    # backend (derived ids hash the scope and would shuffle lists).
    names = (*node.entity.traits.natural_key, "id")
    return lambda row: tuple(str(row[n]) for n in names)


async def read_rows(access: Access, root: Node, root_id: str) -> Rows:
    """Every stored row under ``root`` (one statement), as document-field dicts grouped
    by node and by the ids of their ancestors."""
    nodes = root.walk()
    query = _tree_query(root, access.conn.dialect)
    columns = access.target.columns()
    values = {c: columns[c] for c in _SCOPE} | {"root_id": root_id}
    rows: Rows = {node: defaultdict(list) for node in nodes}
    booleans = {node: _boolean_columns(node) for node in nodes}
    result = await access.conn.exec_driver_sql(query.sql, query.params(values))
    raw = result.scalar_one()
    pairs: list[tuple[int, dict[str, Any]]] = loads(raw) if isinstance(raw, str) else raw
    for index, data in pairs or ():
        node = nodes[int(index)]
        for name in booleans[node]:
            if data.get(name) is not None:
                data[name] = bool(data[name])  # SQLite's JSON has no booleans
        rows[node][tuple(data[c] for c in node.link_columns)].append(data)
    return rows


async def past_rows(
    conn: AsyncConnection, scope: ProjectScope, commit_id: str, root: Node, root_id: str
) -> Rows:
    """What ``read_rows`` finds under ``root`` at a past commit (with every column),
    decoded from the commit's row images: nothing materialised."""
    nodes = root.walk()
    tables = {node.entity.table.name for node in nodes}
    found = await rows_at(conn, scope.tenant_id, scope.project_id, commit_id, tables)
    rows: Rows = {node: defaultdict(list) for node in nodes}
    for node in nodes:
        # The root row by its id; under an agent, that agent's rows only (what
        # ``_tree_query`` selects).
        column = "id" if node is root else "agent_id" if root is AGENT_NODE else None
        group, links = rows[node], node.link_columns
        for row in found[node.entity.table.name]:
            if column is None or row[column] == root_id:
                group[tuple(row[c] for c in links)].append(row)
    return rows


def assemble(root: Node, rows: Rows) -> Document | None:
    """The document of ``root`` from its rows (``None`` when the root row is absent)."""
    for node in root.walk():
        for group in rows.get(node, {}).values():
            group.sort(key=_sort_key(node))
    top = rows.get(root, {}).get((), [])
    return _object(root, top[0], (), rows) if top else None


def _object(node: Node, row: Mapping[str, Any], path: tuple[Any, ...], rows: Rows) -> Document:
    fields, children = _shape(node)
    obj: Document = {f: row[f] for f in fields}
    child_path = (*path, row["id"])
    for child, key, linked, keyed in children:
        # Project-level children (no link columns) hang off the project itself.
        at = child_path if linked else ()
        groups = rows.get(child)
        found = groups.get(at) if groups else None
        if not found:
            # Most rows have no children of most kinds: no comprehension to run.
            obj[key] = {} if keyed else []
        elif keyed:
            obj[key] = {r["id"]: _object(child, r, at, rows) for r in found}
        else:
            obj[key] = [_object(child, r, at, rows) for r in found]
    return obj


@cache
def _shape(node: Node) -> tuple[tuple[str, ...], tuple[tuple[Node, str, bool, bool], ...]]:
    # What ``_object`` looks up for every row, worked out once per node.
    children = tuple((c, c.key, bool(c.link_columns), c.keyed) for c in node.children)
    return document_fields(node), children


def get_full_project(manage: Db) -> Callable[..., Awaitable[Document | None]]:
    """Curried: the whole project at ``scopes.ref`` as one document, or ``None``."""

    async def _get(*, scopes: ProjectScope) -> Document | None:
        async def read(access: Access) -> Document | None:
            return assemble(PROJECT_NODE, await read_rows(access, PROJECT_NODE, scopes.project_id))

        async def past(conn: AsyncConnection, commit_id: str) -> Document | None:
            rows = await past_rows(conn, scopes, commit_id, PROJECT_NODE, scopes.project_id)
            return assemble(PROJECT_NODE, rows)

        return await read_at_ref(manage, scopes, read, _is_none, past=past)

    return _get


def get_full_agent(manage: Db) -> Callable[..., Awaitable[Document | None]]:
    """Curried: one agent with everything under it, or ``None``."""

    async def _get(*, scopes: AgentScope) -> Document | None:
        async def read(access: Access) -> Document | None:
            return assemble(AGENT_NODE, await read_rows(access, AGENT_NODE, scopes.agent_id))

        async def past(conn: AsyncConnection, commit_id: str) -> Document | None:
            rows = await past_rows(conn, scopes, commit_id, AGENT_NODE, scopes.agent_id)
            return assemble(AGENT_NODE, rows)

        return await read_at_ref(manage, scopes, read, _is_none, past=past)

    return _get


def _is_none(found: object) -> bool:
    return found is None
