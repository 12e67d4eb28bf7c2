"""Explicit cascades from manage entities to runtime rows.

Foreign keys never cross databases, so when a project, agent, sub-agent or branch
goes away in the manage database, these helpers remove (or detach) the runtime rows
that name it. Rows hanging off the deleted ones follow by their own FK cascades.
Each helper takes a ``Db``: given a writing unit it joins that transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import and_, delete, update

from agentfold_core.data_access.crud import Entity
from agentfold_core.data_access.doors import Access, Db, writing
from agentfold_core.data_access.runtime.api_keys import API_KEYS
from agentfold_core.data_access.runtime.conversations import CONTEXT_CACHE, CONVERSATIONS
from agentfold_core.data_access.runtime.tasks import LEDGER_ARTIFACTS, TASK_RELATIONS, TASKS
from agentfold_core.data_access.runtime.trigger_invocations import TRIGGER_INVOCATIONS
from agentfold_core.db.columns import ScopeLevel
from agentfold_core.scopes import AgentScope, ProjectScope, SubAgentScope

Counts = dict[str, int]
_AnyEntity = Entity[Any]

# Roots of the project's runtime rows; everything else cascades from these in the DB.
_PROJECT_ROOTS: tuple[_AnyEntity, ...] = (
    CONVERSATIONS,
    TASK_RELATIONS,
    LEDGER_ARTIFACTS,
    TASKS,
    TRIGGER_INVOCATIONS,
    API_KEYS,
)
_AGENT_ROOTS: tuple[_AnyEntity, ...] = (CONVERSATIONS, TASKS, TRIGGER_INVOCATIONS, API_KEYS)
_BRANCH_ROOTS: tuple[_AnyEntity, ...] = (
    CONVERSATIONS,
    TASKS,
    CONTEXT_CACHE,
    TRIGGER_INVOCATIONS,
)


def _project_prefix(access: Access, entity: _AnyEntity) -> dict[str, Any]:
    # Runtime rows are keyed by tenant and project (not branch): the project's rows on
    # every branch, whatever the level of the entity.
    return entity.scope_key(access.target, ScopeLevel.PROJECT)


async def _delete_all(access: Access, roots: tuple[_AnyEntity, ...], **extra: str) -> Counts:
    return {
        e.traits.name: await e.delete_scope(access, {**_project_prefix(access, e), **extra})
        for e in roots
    }


def cascade_delete_by_project(runtime: Db) -> Callable[..., Awaitable[Counts]]:
    """Curried: delete every runtime row of a project, keeping its metadata row."""

    async def _cascade(*, scopes: ProjectScope) -> Counts:
        async with writing(runtime, scopes) as access:
            return await _delete_all(access, _PROJECT_ROOTS)

    return _cascade


def cascade_delete_by_agent(runtime: Db) -> Callable[..., Awaitable[Counts]]:
    """Curried: delete the runtime rows of one agent (conversations, tasks, keys...)."""

    async def _cascade(*, scopes: AgentScope) -> Counts:
        async with writing(runtime, scopes) as access:
            return await _delete_all(access, _AGENT_ROOTS, agent_id=scopes.agent_id)

    return _cascade


def cascade_delete_by_sub_agent(runtime: Db) -> Callable[..., Awaitable[Counts]]:
    """Curried: delete a sub-agent's tasks and detach conversations it was active in."""

    async def _cascade(*, scopes: SubAgentScope) -> Counts:
        conversations = CONVERSATIONS.table
        async with writing(runtime, scopes) as access:
            deleted = await TASKS.delete_scope(
                access,
                {
                    **_project_prefix(access, TASKS),
                    "agent_id": scopes.agent_id,
                    "sub_agent_id": scopes.sub_agent_id,
                },
            )
            prefix = _project_prefix(access, CONVERSATIONS)
            detached = await access.conn.execute(
                update(conversations)
                .where(
                    *(conversations.c[c] == v for c, v in prefix.items()),
                    conversations.c.agent_id == scopes.agent_id,
                    conversations.c.active_sub_agent_id == scopes.sub_agent_id,
                )
                .values(active_sub_agent_id=None)
            )
        return {TASKS.traits.name: deleted, "conversations_detached": int(detached.rowcount)}

    return _cascade


def cascade_delete_by_branch(runtime: Db) -> Callable[..., Awaitable[Counts]]:
    """Curried: delete runtime rows that ran against a branch of the project."""

    async def _cascade(*, scopes: ProjectScope) -> Counts:
        counts: Counts = {}
        async with writing(runtime, scopes) as access:
            for entity in _BRANCH_ROOTS:
                table = entity.table
                prefix = _project_prefix(access, entity)
                condition = and_(
                    *(table.c[c] == v for c, v in prefix.items()),
                    table.c.ref["branch"].as_string() == scopes.ref,
                )
                result = await access.conn.execute(delete(table).where(condition))
                counts[entity.traits.name] = int(result.rowcount)
        return counts

    return _cascade
