"""Creating or replacing a whole project or agent from one document.

Cost follows the change, not the size of the project:

- The Python work happens before the write transaction. A document is split into
  parts (the project with its shared collections; each agent with all it holds); each
  part is validated, flattened into rows and its references collected by a pure
  function memoised on the part's canonical JSON and scope, so an unchanged agent of a
  large project costs one serialisation. References across parts are then checked
  against the keys every part holds; each failure names its document path.
- Inside the transaction one statement reads what is stored under the root and only
  the difference is written: rows the document no longer names are deleted (children
  first, through their entity, so its rules run), new and changed rows are upserted
  (parents first) with statements built once; unchanged rows are not touched, so their
  ``updated_at`` and any version history stay quiet.
- A put returns what it changed (rows created, updated, deleted per table); the
  document is one ``get_full_*`` away.

Runtime rows naming agents or sub-agents the document removed (conversations, tasks,
trigger invocations, API keys bound to an agent) are deleted by the runtime cascades
in one runtime transaction after the manage commit; should that fail,
``agentfold db check-references`` reports what is left and a repeated put removes it.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

import pydantic_core
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from agentfold_core.data_access.crud import Entity
from agentfold_core.data_access.documents.models import document_fields, document_model
from agentfold_core.data_access.documents.read import read_rows, stored_fields
from agentfold_core.data_access.documents.tree import AGENT_NODE, PROJECT_NODE, Node
from agentfold_core.data_access.doors import Access, Db, writing
from agentfold_core.data_access.manage.agents import SOFT_REFERENCES, SUB_AGENTS
from agentfold_core.data_access.manage.triggers import TRIGGERS
from agentfold_core.data_access.project_lifecycle import (
    ProjectAlreadyExists,
    ProjectCreate,
    create_project_with,
    project_exists,
)
from agentfold_core.data_access.runtime.cascade import (
    cascade_delete_by_agent,
    cascade_delete_by_sub_agent,
    cascade_delete_by_trigger,
)
from agentfold_core.data_access.scope_keys import resolve
from agentfold_core.db.base import manage_metadata
from agentfold_core.db.engine import Database
from agentfold_core.db.types import utcnow
from agentfold_core.errors import NotFound, ValidationFailed
from agentfold_core.scopes import AgentScope, ProjectScope, SubAgentScope, TenantScope
from agentfold_core.validation import validation_failed

_TABLE_ORDER = {t.name: i for i, t in enumerate(manage_metadata.sorted_tables)}
# Memoised parts: enough for a few large projects; each entry is one agent's rows.
_PART_CACHE_SIZE = 4096
Identity = tuple[tuple[Any, ...], str]  # (ancestor ids on the path, row id)
Base = tuple[tuple[str, Any], ...]  # the scope columns every row of a part carries


@dataclass(frozen=True, slots=True)
class _Row:
    node: Node
    values: dict[str, Any]  # every column but the timestamps
    stored: dict[str, Any]  # what ``read_rows`` returns for it when stored as is
    identity: Identity


@dataclass(frozen=True, slots=True)
class _Reference:
    table: str  # the referred table
    key: tuple[Any, ...]  # its primary key as named by the referring row
    field: str  # document path of the referring field
    message: str


@dataclass(frozen=True, slots=True)
class _Part:
    """One validated, flattened piece of a document."""

    rows: tuple[_Row, ...]
    keys: Mapping[str, frozenset[tuple[Any, ...]]]
    references: tuple[_Reference, ...]


@dataclass(frozen=True)
class PutResult:
    """What a put changed: rows created, updated and deleted, by table."""

    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    # What runtime rows may name, removed (for the runtime cascades): agents, and
    # (agent id, id) of sub-agents and triggers of agents that were kept.
    removed_agents: tuple[str, ...] = ()
    removed_sub_agents: tuple[tuple[str, str], ...] = ()
    removed_triggers: tuple[tuple[str, str], ...] = ()

    @property
    def changed(self) -> bool:
        """Whether the put wrote anything."""
        return bool(self.created or self.updated or self.deleted)


# --------------------------------------------------------------------------- parts


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


def _key_mismatch(path: str, expected: Any, what: str) -> ValidationFailed:
    return ValidationFailed(
        f"document {what} differs from its key",
        errors=[{"field": path, "message": f"must be {expected!r}", "type": "key_mismatch"}],
    )


@cache
def _foreign_keys(node: Node) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(
        (fk.referred_table.name, tuple(fk.column_keys))
        for fk in node.entity.table.foreign_key_constraints
    )


@cache
def _primary_key(node: Node) -> tuple[str, ...]:
    return node.entity.key_columns


def _flatten(
    node: Node,
    obj: Mapping[str, Any],
    base: Mapping[str, Any],
    path: tuple[Any, ...],
    where: str,
    out: list[_Row],
    references: list[_Reference],
) -> None:
    columns = node.entity.traits.columns
    values = {f: obj[f] for f in document_fields(node)}
    values.update((k, v) for k, v in base.items() if k in columns)
    values.update(zip(node.link_columns, path, strict=True))
    if node.entity.traits.derived_id:
        values["id"] = node.entity.derived_id(values)
    stored = {f: values[f] for f in stored_fields(node)}
    out.append(_Row(node, values, stored, (path, values["id"])))
    for target, local_columns in _foreign_keys(node):
        local = tuple(values.get(c) for c in local_columns)
        if None not in local:
            references.append(
                _Reference(
                    target,
                    local,
                    f"{where}.{local_columns[-1]}".lstrip("."),
                    f"no {target} row {local[-1]!r} in this document",
                )
            )
    for reference in SOFT_REFERENCES:
        value = values.get(reference.column) if reference.owner is node.entity else None
        if value is not None:
            scope = tuple(values[c] for c in reference.scope_columns)
            references.append(
                _Reference(
                    reference.child.table.name,
                    (*scope, values["id"], value),
                    f"{where}.{reference.column}".lstrip("."),
                    f"no {reference.child.table.name} row {value!r}",
                )
            )
    child_path = (*path, values["id"])
    for child in node.children:
        collection = obj[child.key]
        items = collection.items() if child.keyed else enumerate(collection)
        for key, item in items:
            sub = f"{where}.{child.key}.{key}" if child.keyed else f"{where}.{child.key}[{key}]"
            sub = sub.lstrip(".")
            if child.keyed and item["id"] != key:
                raise _key_mismatch(f"{sub}.id", key, "id")
            link_path = child_path if child.link_columns else ()
            _flatten(child, item, base, link_path, sub, out, references)


def _part(node: Node, base: Base, where: str, raw: Any) -> _Part:
    """One part of a document, validated and flattened; memoised by its JSON."""
    try:
        serialised = pydantic_core.to_json(raw)
    except (pydantic_core.PydanticSerializationError, ValueError):
        # Not plain JSON data (or too deep to encode): validation says what is wrong.
        return _build_part(node, base, where, raw)
    return _cached_part(node, base, where, serialised)


@lru_cache(maxsize=_PART_CACHE_SIZE)
def _cached_part(node: Node, base: Base, where: str, serialised: bytes) -> _Part:
    return _build_part(node, base, where, json.loads(serialised))


def _build_part(node: Node, base: Base, where: str, raw: Any) -> _Part:
    raw = _with_ids(node, raw)
    try:
        obj = document_model(node).model_validate(raw).model_dump()
    except PydanticValidationError as exc:
        raise validation_failed(exc, "document", prefix=where) from exc
    rows: list[_Row] = []
    references: list[_Reference] = []
    _flatten(node, obj, dict(base), (), where, rows, references)
    keys: dict[str, set[tuple[Any, ...]]] = defaultdict(set)
    for row in rows:
        keys[row.node.entity.table.name].add(tuple(row.values[c] for c in _primary_key(row.node)))
    return _Part(tuple(rows), {t: frozenset(k) for t, k in keys.items()}, tuple(references))


def _check_references(parts: Iterable[_Part], root: Node, partial: frozenset[str]) -> None:
    """Every reference to a table the document holds in full names a row of it.

    References to tables outside the document, or held only in part (an agent document
    holds one agent of the project), are left to the database foreign keys. A table
    the document could hold but holds no row of (an empty collection) is held in full:
    a link to it dangles and is reported with its path.
    """
    parts = list(parts)
    keys: dict[str, set[tuple[Any, ...]]] = defaultdict(set)
    for part in parts:
        for table, held in part.keys.items():
            keys[table] |= held
    present = {node.entity.table.name for node in root.walk()} - partial
    errors = [
        {"field": r.field, "message": r.message, "type": "dangling_reference"}
        for part in parts
        for r in part.references
        if r.table in present and r.key not in keys[r.table]
    ]
    if errors:
        raise ValidationFailed("document has dangling references", errors=errors)


def _raw(document: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
    if isinstance(document, BaseModel):
        # What the caller set: defaults (generated ids above all) are applied here again.
        return document.model_dump(exclude_unset=True)
    if not isinstance(document, Mapping):
        raise ValidationFailed(
            "a document is a JSON object",
            errors=[{"field": "", "message": "must be an object", "type": "dict_type"}],
        )
    return dict(document)


def _project_parts(scopes: ProjectScope, document: Mapping[str, Any] | BaseModel) -> list[_Part]:
    raw = _raw(document)
    raw.setdefault("id", scopes.project_id)
    if raw["id"] != scopes.project_id:
        raise _key_mismatch("id", scopes.project_id, "id (the id in the path)")
    agents = raw.pop("agents", {})
    if not isinstance(agents, Mapping) or not all(isinstance(a, Mapping) for a in agents.values()):
        # Not a map of objects: let the generated model say precisely what is wrong.
        _build_part(PROJECT_NODE, (), "", {**raw, "agents": agents})
    base = tuple(resolve(scopes).columns().items())
    parts = [_part(PROJECT_NODE, base, "", raw)]
    for agent_id, agent in agents.items():
        parts.append(_part(AGENT_NODE, base, f"agents.{agent_id}", {**agent, "id": agent_id}))
    _check_references(parts, PROJECT_NODE, frozenset())
    return parts


def _agent_parts(scopes: AgentScope, document: Mapping[str, Any] | BaseModel) -> list[_Part]:
    raw = _raw(document)
    raw.setdefault("id", scopes.agent_id)
    if raw["id"] != scopes.agent_id:
        raise _key_mismatch("id", scopes.agent_id, "id (the id in the path)")
    base = tuple(resolve(scopes.project()).columns().items())
    parts = [_part(AGENT_NODE, base, "", raw)]
    _check_references(parts, AGENT_NODE, frozenset({AGENT_NODE.entity.table.name}))
    return parts


# --------------------------------------------------------------------------- writing


async def _write_difference(
    access: Access, root: Node, root_id: str, parts: list[_Part]
) -> PutResult:
    stored: dict[Node, dict[Identity, dict[str, Any]]] = {
        node: {(path, row["id"]): row for path, group in groups.items() for row in group}
        for node, groups in (await read_rows(access, root, root_id)).items()
    }
    wanted: dict[Node, dict[Identity, _Row]] = defaultdict(dict)
    for part in parts:
        for row in part.rows:
            wanted[row.node][row.identity] = row
    columns = access.target.columns()
    created: Counter[str] = Counter()
    updated: Counter[str] = Counter()
    deleted: Counter[str] = Counter()
    removed_agents: list[str] = []
    removed_children: dict[Entity[Any], list[tuple[str, str]]] = defaultdict(list)
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
        deleted[entity.traits.name] += await entity.delete_keys(access, keys)
        if entity is AGENT_NODE.entity:
            removed_agents += [row_id for _, row_id in gone]
        elif entity in (SUB_AGENTS, TRIGGERS):
            removed_children[entity] += [(path[0], row_id) for path, row_id in gone]
    now = utcnow()
    for node in sorted(wanted, key=lambda n: _TABLE_ORDER[n.entity.table.name]):
        old = stored.get(node, {})
        inserted, changed = [], []
        for identity, row in wanted[node].items():
            previous = old.get(identity)
            if previous is None:
                inserted.append({**row.values, "created_at": now, "updated_at": now})
            elif previous != row.stored:
                changed.append({**row.values, "created_at": now, "updated_at": now})
        name = node.entity.traits.name
        if inserted:
            created[name] += len(inserted)
        if changed:
            updated[name] += len(changed)
        await node.entity.save_many(access, inserted, changed)
    return PutResult(
        created=dict(created),
        updated=dict(updated),
        deleted=dict(deleted),
        removed_agents=tuple(removed_agents),
        # Children of removed agents went with them: the cascade by agent covers them.
        removed_sub_agents=tuple(
            c for c in removed_children[SUB_AGENTS] if c[0] not in removed_agents
        ),
        removed_triggers=tuple(c for c in removed_children[TRIGGERS] if c[0] not in removed_agents),
    )


async def _cascade_removed(runtime: Db, scopes: ProjectScope, result: PutResult) -> None:
    if not (result.removed_agents or result.removed_sub_agents or result.removed_triggers):
        return

    def agent(agent_id: str) -> AgentScope:
        return AgentScope(scopes.tenant_id, scopes.project_id, agent_id, ref=scopes.ref)

    async with writing(runtime, scopes) as access:
        for agent_id in result.removed_agents:
            await cascade_delete_by_agent(access.unit)(scopes=agent(agent_id))
        for agent_id, sub_agent_id in result.removed_sub_agents:
            await cascade_delete_by_sub_agent(access.unit)(
                scopes=SubAgentScope(
                    scopes.tenant_id, scopes.project_id, agent_id, sub_agent_id, ref=scopes.ref
                )
            )
        for agent_id, trigger_id in result.removed_triggers:
            await cascade_delete_by_trigger(access.unit)(
                scopes=agent(agent_id), trigger_id=trigger_id
            )


def put_full_project(manage: Database, runtime: Database) -> Callable[..., Awaitable[PutResult]]:
    """Curried: create or replace a whole project from one document; returns what changed.

    A new project is created in both databases with its whole content in one manage
    transaction, so a failed import leaves nothing behind and never undoes a
    concurrent put of the same project that succeeded.
    """

    async def _put(*, scopes: ProjectScope, document: Mapping[str, Any] | BaseModel) -> PutResult:
        parts = _project_parts(scopes, document)
        if not await project_exists(runtime)(scopes=scopes):
            head = parts[0].rows[0].values
            project = ProjectCreate(id=scopes.project_id, name=head["name"])
            written: list[PutResult] = []

            async def populate(access: Access) -> None:
                written.append(
                    await _write_difference(access, PROJECT_NODE, scopes.project_id, parts)
                )

            try:
                await create_project_with(
                    manage, runtime, TenantScope(scopes.tenant_id), project, populate
                )
                return written[0]
            except ProjectAlreadyExists:
                pass  # created concurrently meanwhile: replace it like any existing project
        async with writing(manage, scopes, message=f"Put project {scopes.project_id}") as access:
            result = await _write_difference(access, PROJECT_NODE, scopes.project_id, parts)
        await _cascade_removed(runtime, scopes, result)
        return result

    return _put


def put_full_agent(manage: Db, runtime: Db) -> Callable[..., Awaitable[PutResult]]:
    """Curried: create or replace one agent and everything under it; returns what changed."""

    async def _put(*, scopes: AgentScope, document: Mapping[str, Any] | BaseModel) -> PutResult:
        parts = _agent_parts(scopes, document)
        project = scopes.project()
        async with writing(manage, project, message=f"Put agent {scopes.agent_id}") as access:
            project_key = PROJECT_NODE.entity.scope_key(access.target)
            if await PROJECT_NODE.entity.fetch(access, project_key) is None:
                raise NotFound(
                    "project not found", resource="project", key={"project_id": scopes.project_id}
                )
            result = await _write_difference(access, AGENT_NODE, scopes.agent_id, parts)
        await _cascade_removed(runtime, project, result)
        return result

    return _put
