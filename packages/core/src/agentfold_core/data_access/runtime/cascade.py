"""Explicit cascades from manage entities to runtime rows.

Foreign keys never cross databases, so when a project, agent, sub-agent or branch
goes away in the manage database, these helpers remove (or detach) the runtime rows
that name it. Rows hanging off the deleted ones follow by their own FK cascades.
Each helper takes a ``Db``: given a writing unit it joins that transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, delete, or_, update

from agentfold_core.data_access.crud import Entity
from agentfold_core.data_access.doors import Access, Db, writing
from agentfold_core.data_access.runtime.api_keys import API_KEYS
from agentfold_core.data_access.runtime.conversations import CONTEXT_CACHE, CONVERSATIONS
from agentfold_core.data_access.runtime.credential_secrets import CREDENTIAL_SECRETS
from agentfold_core.data_access.runtime.credits import CREDIT_GRANTS, CREDIT_LEDGER
from agentfold_core.data_access.runtime.project_metadata import PROJECT_METADATA
from agentfold_core.data_access.runtime.runs import RUNS
from agentfold_core.data_access.runtime.tasks import LEDGER_ARTIFACTS, TASK_RELATIONS, TASKS
from agentfold_core.data_access.runtime.trigger_invocations import TRIGGER_INVOCATIONS
from agentfold_core.db.columns import ScopeLevel
from agentfold_core.scopes import DEFAULT_BRANCH, AgentScope, ProjectScope, SubAgentScope

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
    RUNS,
    CREDIT_GRANTS,
    CREDIT_LEDGER,
    CREDENTIAL_SECRETS,
)
# Rows of an agent that ran against a branch (API keys are bound to the main branch).
_AGENT_ROOTS: tuple[_AnyEntity, ...] = (CONVERSATIONS, TASKS, TRIGGER_INVOCATIONS)
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


async def _main_branch(access: Access) -> str:
    key = PROJECT_METADATA.scope_key(access.target, ScopeLevel.PROJECT)
    found = await PROJECT_METADATA.fetch(access, key)
    return found.main_branch_name if found is not None else DEFAULT_BRANCH


def _ran_on(table: Table, branch: str, main: str) -> ColumnElement[bool]:
    # A row records the branch it ran against; a row without one ran on the main branch.
    ran = table.c.ref["branch"].as_string()
    return or_(ran == branch, ran.is_(None)) if branch == main else ran == branch


async def _delete_on_branch(access: Access, entity: _AnyEntity, main: str, **names: str) -> int:
    table = entity.table
    prefix = {**_project_prefix(access, entity), **names}
    condition = and_(
        *(table.c[c] == v for c, v in prefix.items()), _ran_on(table, access.target.branch, main)
    )
    result = await access.conn.execute(delete(table).where(condition))
    return int(result.rowcount)


def cascade_delete_by_agent(runtime: Db) -> Callable[..., Awaitable[Counts]]:
    """Curried: delete the runtime rows of one agent that ran against ``scopes.ref``
    (conversations, tasks, trigger invocations); on the project's main branch also the
    API keys bound to the agent, which run the main configuration."""

    async def _cascade(*, scopes: AgentScope) -> Counts:
        async with writing(runtime, scopes) as access:
            main = await _main_branch(access)
            agent = scopes.agent_id
            counts = {
                e.traits.name: await _delete_on_branch(access, e, main, agent_id=agent)
                for e in _AGENT_ROOTS
            }
            if access.target.branch == main:
                prefix = {**_project_prefix(access, API_KEYS), "agent_id": agent}
                counts[API_KEYS.traits.name] = await API_KEYS.delete_scope(access, prefix)
        return counts

    return _cascade


def cascade_delete_by_sub_agent(runtime: Db) -> Callable[..., Awaitable[Counts]]:
    """Curried: delete a sub-agent's tasks that ran against ``scopes.ref`` and detach the
    conversations it was active in there."""

    async def _cascade(*, scopes: SubAgentScope) -> Counts:
        conversations = CONVERSATIONS.table
        async with writing(runtime, scopes) as access:
            main = await _main_branch(access)
            deleted = await _delete_on_branch(
                access, TASKS, main, agent_id=scopes.agent_id, sub_agent_id=scopes.sub_agent_id
            )
            prefix = _project_prefix(access, CONVERSATIONS)
            detached = await access.conn.execute(
                update(conversations)
                .where(
                    *(conversations.c[c] == v for c, v in prefix.items()),
                    conversations.c.agent_id == scopes.agent_id,
                    conversations.c.active_sub_agent_id == scopes.sub_agent_id,
                    _ran_on(conversations, access.target.branch, main),
                )
                .values(active_sub_agent_id=None)
            )
        return {TASKS.traits.name: deleted, "conversations_detached": int(detached.rowcount)}

    return _cascade


def cascade_delete_by_trigger(runtime: Db) -> Callable[..., Awaitable[Counts]]:
    """Curried: delete the invocations of one trigger of an agent that ran against
    ``scopes.ref``."""

    async def _cascade(*, scopes: AgentScope, trigger_id: str) -> Counts:
        async with writing(runtime, scopes) as access:
            main = await _main_branch(access)
            deleted = await _delete_on_branch(
                access,
                TRIGGER_INVOCATIONS,
                main,
                agent_id=scopes.agent_id,
                trigger_id=trigger_id,
            )
        return {TRIGGER_INVOCATIONS.traits.name: deleted}

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
