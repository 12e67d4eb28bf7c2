"""Explicit cascades from manage entities to runtime rows.

Foreign keys never cross databases, so when a project, agent, sub-agent or branch
goes away in the manage database, these helpers remove (or detach) the runtime rows
that name it. Rows hanging off the deleted ones follow by their own FK cascades.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import and_, delete, update

from agentfold_core.data_access.connection import Db, writing
from agentfold_core.data_access.crud import Entity
from agentfold_core.data_access.runtime.api_keys import API_KEYS
from agentfold_core.data_access.runtime.conversations import CONTEXT_CACHE, CONVERSATIONS
from agentfold_core.data_access.runtime.tasks import LEDGER_ARTIFACTS, TASK_RELATIONS, TASKS
from agentfold_core.data_access.runtime.trigger_invocations import TRIGGER_INVOCATIONS
from agentfold_core.scopes import AgentScope, ProjectScope, SubAgentScope

Counts = dict[str, int]
_AnyEntity = Entity[Any]

# Roots of the project's runtime rows; everything else cascades from these in the DB.
_PROJECT_ROOTS: tuple[_AnyEntity, ...] = (
    CONVERSATIONS, TASK_RELATIONS, LEDGER_ARTIFACTS, TASKS, TRIGGER_INVOCATIONS, API_KEYS,
)
_AGENT_ROOTS: tuple[_AnyEntity, ...] = (CONVERSATIONS, TASKS, TRIGGER_INVOCATIONS, API_KEYS)
_BRANCH_ROOTS: tuple[_AnyEntity, ...] = (
    CONVERSATIONS, TASKS, CONTEXT_CACHE, TRIGGER_INVOCATIONS,
)


async def _delete(conn: Any, entity: _AnyEntity, conditions: list[Any]) -> int:
    result = await conn.execute(delete(entity.table).where(and_(*conditions)))
    return int(result.rowcount)


def _project_conditions(entity: _AnyEntity, scopes: ProjectScope) -> list[Any]:
    t = entity.table
    return [t.c.tenant_id == scopes.tenant_id, t.c.project_id == scopes.project_id]


def cascade_delete_by_project(runtime: Db) -> Callable[..., Awaitable[Counts]]:
    """Curried: delete every runtime row of a project, keeping its metadata row."""

    async def _cascade(*, scopes: ProjectScope) -> Counts:
        async with writing(runtime) as conn:
            return {
                e.traits.name: await _delete(conn, e, _project_conditions(e, scopes))
                for e in _PROJECT_ROOTS
            }

    return _cascade


def cascade_delete_by_agent(runtime: Db) -> Callable[..., Awaitable[Counts]]:
    """Curried: delete the runtime rows of one agent (conversations, tasks, keys...)."""

    async def _cascade(*, scopes: AgentScope) -> Counts:
        async with writing(runtime) as conn:
            return {
                e.traits.name: await _delete(
                    conn,
                    e,
                    [*_project_conditions(e, scopes), e.table.c.agent_id == scopes.agent_id],
                )
                for e in _AGENT_ROOTS
            }

    return _cascade


def cascade_delete_by_sub_agent(runtime: Db) -> Callable[..., Awaitable[Counts]]:
    """Curried: delete a sub-agent's tasks and detach conversations it was active in."""

    async def _cascade(*, scopes: SubAgentScope) -> Counts:
        tasks = TASKS.table
        conversations = CONVERSATIONS.table
        async with writing(runtime) as conn:
            deleted = await _delete(
                conn,
                TASKS,
                [
                    *_project_conditions(TASKS, scopes),
                    tasks.c.agent_id == scopes.agent_id,
                    tasks.c.sub_agent_id == scopes.sub_agent_id,
                ],
            )
            detached = await conn.execute(
                update(conversations)
                .where(
                    *_project_conditions(CONVERSATIONS, scopes),
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
        async with writing(runtime) as conn:
            return {
                e.traits.name: await _delete(
                    conn,
                    e,
                    [
                        *_project_conditions(e, scopes),
                        e.table.c.ref["branch"].as_string() == scopes.ref,
                    ],
                )
                for e in _BRANCH_ROOTS
            }

    return _cascade
