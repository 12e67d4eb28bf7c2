"""Creating or replacing a whole project or agent from one document.

The Python work happens before the write transaction: the document is validated,
flattened into rows and every reference inside it checked (each failure names its
document path). Inside the transaction one statement reads what is stored under the
root, and only the difference is written: rows the document no longer names are
deleted (children first, through the entity, so its rules run), new and changed rows
are upserted (parents first); unchanged rows are not touched, so their ``updated_at``
and any version history stay quiet. The result is assembled from the rows written,
not read again.

Runtime rows naming agents or sub-agents the document removed (conversations, tasks,
trigger invocations, API keys) are deleted by the runtime cascades, in one runtime
transaction after the manage commit; should that fail, ``agentfold db
check-references`` reports what is left and a repeated put removes it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from agentfold_core.data_access.documents.models import document_fields, document_model
from agentfold_core.data_access.documents.read import Document, Rows, assemble, read_rows
from agentfold_core.data_access.documents.tree import AGENT_NODE, PROJECT_NODE, SUB_AGENT_NODE, Node
from agentfold_core.data_access.doors import Access, Db, writing
from agentfold_core.data_access.manage.agents import SOFT_REFERENCES
from agentfold_core.data_access.project_lifecycle import (
    ProjectAlreadyExists,
    ProjectCreate,
    create_project_with,
    project_exists,
)
from agentfold_core.data_access.runtime.cascade import (
    cascade_delete_by_agent,
    cascade_delete_by_sub_agent,
)
from agentfold_core.data_access.scope_keys import resolve
from agentfold_core.db.base import manage_metadata
from agentfold_core.db.engine import Database
from agentfold_core.db.types import utcnow
from agentfold_core.errors import NotFound, ValidationFailed
from agentfold_core.scopes import AgentScope, ProjectScope, SubAgentScope, TenantScope
from agentfold_core.validation import validation_failed

_TABLE_ORDER = {t.name: i for i, t in enumerate(manage_metadata.sorted_tables)}
Identity = tuple[tuple[Any, ...], str]  # (ancestor ids on the path, row id)


@dataclass
class _Row:
    node: Node
    values: dict[str, Any]
    where: str  # document path, for error messages

    @property
    def identity(self) -> Identity:
        return tuple(self.values[c] for c in self.node.link_columns), self.values["id"]


@dataclass
class Removed:
    """Agents and sub-agents a put removed, for the runtime cascades."""

    agents: list[str] = field(default_factory=list)
    sub_agents: list[tuple[str, str]] = field(default_factory=list)


# --------------------------------------------------------------------------- preparing


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


def _key_mismatch(path: str, expected: Any, what: str) -> ValidationFailed:
    return ValidationFailed(
        f"document {what} differs from its key",
        errors=[{"field": path, "message": f"must be {expected!r}", "type": "key_mismatch"}],
    )


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
                raise _key_mismatch(f"{sub}.id", key, "id")
            _flatten(child, item, base, child_path if child.link_columns else (), sub, out)


def _check_references(root: Node, rows: list[_Row], partial: frozenset[str] = frozenset()) -> None:
    """Every reference to a table the document holds in full names a row of it.

    References to tables outside it, or held only in part (``partial``: an agent
    document holds one agent of the project), are left to the database foreign keys.
    A table the document could hold but holds no row of (an empty collection) is held
    in full: a link to it dangles and is reported with its path.
    """
    keys: dict[str, set[tuple[Any, ...]]] = defaultdict(set)
    for row in rows:
        table = row.node.entity.table
        keys[table.name].add(tuple(row.values[c.name] for c in table.primary_key.columns))
    present = {node.entity.table.name for node in root.walk()} - partial
    errors: list[dict[str, str]] = []
    for row in rows:
        table = row.node.entity.table
        for fk in table.foreign_key_constraints:
            target = fk.referred_table.name
            if target not in present:
                continue
            local = tuple(row.values.get(c) for c in fk.column_keys)
            if None in local or local in keys[target]:
                continue
            column = fk.column_keys[-1]
            errors.append(
                {
                    "field": f"{row.where}.{column}".lstrip("."),
                    "message": f"no {target} row {local[-1]!r} in this document",
                    "type": "dangling_reference",
                }
            )
        for reference in SOFT_REFERENCES:
            if row.node.entity is not reference.owner:
                continue
            value = row.values.get(reference.column)
            scope = tuple(row.values[c] for c in reference.scope_columns)
            if value is not None and (*scope, row.values["id"], value) not in keys.get(
                reference.child.table.name, set()
            ):
                errors.append(
                    {
                        "field": f"{row.where}.{reference.column}".lstrip("."),
                        "message": f"no {reference.child.table.name} row {value!r}",
                        "type": "dangling_reference",
                    }
                )
    if errors:
        raise ValidationFailed("document has dangling references", errors=errors)


def _prepare(
    root: Node, scopes: ProjectScope, document: Mapping[str, Any] | BaseModel, root_id: str
) -> tuple[BaseModel, list[_Row]]:
    what = "project document" if root is PROJECT_NODE else "agent document"
    obj = _validate(root, document, what)
    if getattr(obj, "id") != root_id:  # noqa: B009 - generated model
        raise _key_mismatch("id", root_id, "id (the id in the path)")
    rows: list[_Row] = []
    _flatten(root, obj, resolve(scopes).columns(), (), "", rows)
    partial = frozenset() if root is PROJECT_NODE else frozenset({AGENT_NODE.entity.table.name})
    _check_references(root, rows, partial)
    return obj, rows


# --------------------------------------------------------------------------- writing


def _changed(node: Node, stored: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    return any(stored.get(f) != wanted.get(f) for f in document_fields(node))


async def _write_difference(access: Access, root: Node, root_id: str, rows: list[_Row]) -> Removed:
    stored_rows = await read_rows(access, root, root_id)
    stored: dict[Node, dict[Identity, dict[str, Any]]] = {}
    for node, groups in stored_rows.items():
        stored[node] = {(path, r["id"]): r for path, group in groups.items() for r in group}
    wanted: dict[Node, dict[Identity, _Row]] = defaultdict(dict)
    for row in rows:
        wanted[row.node][row.identity] = row
    removed = Removed()
    columns = access.target.columns()
    # Children first; cascades would remove them anyway, but the entity's rules run.
    for node in sorted(stored, key=lambda n: -_TABLE_ORDER[n.entity.table.name]):
        gone = [i for i in stored[node] if i not in wanted[node]]
        if not gone:
            continue
        entity = node.entity
        keys = []
        for path, row_id in gone:
            known = {**columns, **dict(zip(node.link_columns, path, strict=True)), "id": row_id}
            keys.append({c: known[c] for c in entity.key_columns})
        await entity.delete_keys(access, keys)
        if entity is AGENT_NODE.entity:
            removed.agents += [row_id for _, row_id in gone]
        elif entity is SUB_AGENT_NODE.entity:
            removed.sub_agents += [(path[0], row_id) for path, row_id in gone]
    now = utcnow()
    for node in sorted(wanted, key=lambda n: _TABLE_ORDER[n.entity.table.name]):
        old = stored.get(node, {})
        write = [
            {**row.values, "created_at": now, "updated_at": now}
            for identity, row in wanted[node].items()
            if identity not in old or _changed(node, old[identity], row.values)
        ]
        await node.entity.upsert_many(access, write)
    # Sub-agents of removed agents went with them: cascade by agent covers them.
    removed.sub_agents = [s for s in removed.sub_agents if s[0] not in removed.agents]
    return removed


def _result(root: Node, rows: list[_Row]) -> Document:
    grouped: Rows = defaultdict(lambda: defaultdict(list))
    for row in rows:
        grouped[row.node][row.identity[0]].append(row.values)
    document = assemble(root, grouped)
    if document is None:  # the root row is always among the rows written
        raise NotFound("document root missing", resource=root.entity.label)
    return document


async def _cascade_removed(runtime: Db, scopes: ProjectScope, removed: Removed) -> None:
    if not removed.agents and not removed.sub_agents:
        return
    async with writing(runtime, scopes) as access:
        for agent_id in removed.agents:
            await cascade_delete_by_agent(access.unit)(
                scopes=AgentScope(scopes.tenant_id, scopes.project_id, agent_id, ref=scopes.ref)
            )
        for agent_id, sub_agent_id in removed.sub_agents:
            await cascade_delete_by_sub_agent(access.unit)(
                scopes=SubAgentScope(
                    scopes.tenant_id, scopes.project_id, agent_id, sub_agent_id, ref=scopes.ref
                )
            )


def put_full_project(manage: Database, runtime: Database) -> Callable[..., Awaitable[Document]]:
    """Curried: create or replace a whole project from one document; returns it as stored.

    A new project is created in both databases with its whole content in one manage
    transaction, so a failed import leaves nothing behind and never undoes a
    concurrent put that succeeded.
    """

    async def _put(*, scopes: ProjectScope, document: Mapping[str, Any] | BaseModel) -> Document:
        obj, rows = _prepare(PROJECT_NODE, scopes, document, scopes.project_id)
        message = f"Put project {scopes.project_id}"

        async def populate(access: Access) -> None:
            await _write_difference(access, PROJECT_NODE, scopes.project_id, rows)

        if not await project_exists(runtime)(scopes=scopes):
            project = ProjectCreate(id=scopes.project_id, name=getattr(obj, "name"))  # noqa: B009
            try:
                await create_project_with(
                    manage, runtime, TenantScope(scopes.tenant_id), project, populate
                )
                return _result(PROJECT_NODE, rows)
            except ProjectAlreadyExists:
                pass  # created concurrently meanwhile: replace it like any existing project
        async with writing(manage, scopes, message=message) as access:
            removed = await _write_difference(access, PROJECT_NODE, scopes.project_id, rows)
        await _cascade_removed(runtime, scopes, removed)
        return _result(PROJECT_NODE, rows)

    return _put


def put_full_agent(manage: Db, runtime: Db) -> Callable[..., Awaitable[Document]]:
    """Curried: create or replace one agent and everything under it; returns it as stored."""

    async def _put(*, scopes: AgentScope, document: Mapping[str, Any] | BaseModel) -> Document:
        raw = document.model_dump() if isinstance(document, BaseModel) else dict(document)
        raw.setdefault("id", scopes.agent_id)
        _, rows = _prepare(AGENT_NODE, scopes, raw, scopes.agent_id)
        project = scopes.project()
        async with writing(manage, project, message=f"Put agent {scopes.agent_id}") as access:
            project_key = PROJECT_NODE.entity.scope_key(access.target)
            if await PROJECT_NODE.entity.fetch(access, project_key) is None:
                raise NotFound(
                    "project not found", resource="project", key={"project_id": scopes.project_id}
                )
            removed = await _write_difference(access, AGENT_NODE, scopes.agent_id, rows)
        await _cascade_removed(runtime, project, removed)
        return _result(AGENT_NODE, rows)

    return _put
