"""Agents, sub-agents, their relations and context configs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import and_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from agentfold_core.data_access.connection import Db, writing
from agentfold_core.data_access.crud import CreateFn, DeleteFn, Entity, UpdateFn, UpsertFn
from agentfold_core.db.manage.schema import (
    Agent,
    AgentRow,
    ContextConfig,
    ContextConfigRow,
    SubAgent,
    SubAgentRelation,
    SubAgentRelationRow,
    SubAgentRow,
)
from agentfold_core.db.types import utcnow
from agentfold_core.errors import InvalidReference
from agentfold_core.scopes import AgentScope, ProjectScope, TenantScope
from agentfold_core.validation import Data

AGENTS: Entity[AgentRow] = Entity(Agent, label="agent")
get_agent, list_agents, _create_agent, _update_agent, _upsert_agent, delete_agent = (
    AGENTS.functions()
)

SUB_AGENTS: Entity[SubAgentRow] = Entity(SubAgent, label="sub_agent")
(
    get_sub_agent,
    list_sub_agents,
    create_sub_agent,
    update_sub_agent,
    upsert_sub_agent,
    _delete_sub_agent,
) = SUB_AGENTS.functions()

SUB_AGENT_RELATIONS: Entity[SubAgentRelationRow] = Entity(
    SubAgentRelation, label="sub_agent_relation", id_param="relation_id"
)
(
    get_sub_agent_relation,
    list_sub_agent_relations,
    create_sub_agent_relation,
    update_sub_agent_relation,
    upsert_sub_agent_relation,
    delete_sub_agent_relation,
) = SUB_AGENT_RELATIONS.functions()

CONTEXT_CONFIGS: Entity[ContextConfigRow] = Entity(ContextConfig, label="context_config")
(
    get_context_config,
    list_context_configs,
    create_context_config,
    update_context_config,
    upsert_context_config,
    _delete_context_config,
) = CONTEXT_CONFIGS.functions()

# An agent's default sub-agent and context config are its own children, so a database
# FK would be a cycle; they are checked here on write and cleared when the target goes.
SOFT_REFERENCES: tuple[tuple[str, Entity[Any]], ...] = (
    ("default_sub_agent_id", SUB_AGENTS),
    ("context_config_id", CONTEXT_CONFIGS),
)


async def _check_soft_references(
    conn: AsyncConnection, scopes: ProjectScope, agent_id: str, values: Mapping[str, Any]
) -> None:
    agent = AgentScope(scopes.tenant_id, scopes.project_id, agent_id, ref=scopes.ref)
    for column, entity in SOFT_REFERENCES:
        target = values.get(column)
        if (
            target is not None
            and await entity.fetch(conn, {**entity.scope_values(agent), "id": target}) is None
        ):
            raise InvalidReference(
                f"agent {agent_id!r} names {column} {target!r}, which does not exist",
                resource="agent",
                key={"agent_id": agent_id, column: target},
            )


def create_agent(db: Db) -> CreateFn[AgentRow]:
    """Curried ``create`` of an agent, checking its default sub-agent and context config."""

    async def _create(*, scopes: TenantScope, data: Data) -> AgentRow:
        values = AGENTS.insert_values(scopes, data)
        async with writing(db) as conn:
            assert isinstance(scopes, ProjectScope)
            await _check_soft_references(conn, scopes, values["id"], values)
            return await AGENTS.insert_row(conn, values)

    return _create


def upsert_agent(db: Db) -> UpsertFn[AgentRow]:
    """Curried ``upsert`` of an agent, checking its default sub-agent and context config."""

    async def _upsert(*, scopes: TenantScope, data: Data) -> AgentRow:
        values = AGENTS.insert_values(scopes, data)
        async with writing(db) as conn:
            assert isinstance(scopes, ProjectScope)
            await _check_soft_references(conn, scopes, values["id"], values)
            return await AGENTS.upsert_row(conn, values)

    return _upsert


def update_agent(db: Db) -> UpdateFn[AgentRow]:
    """Curried ``update`` of an agent, checking its default sub-agent and context config."""

    async def _update(*, scopes: TenantScope, data: Data, **ids: str) -> AgentRow | None:
        key = AGENTS.key(scopes, ids)
        values = AGENTS.update_values(data)
        async with writing(db) as conn:
            assert isinstance(scopes, ProjectScope)
            await _check_soft_references(conn, scopes, key["id"], values)
            return await AGENTS.update_row(conn, key, values)

    return _update


def _deleting_clears(entity: Entity[Any], column: str) -> Callable[[Db], DeleteFn]:
    def curried(db: Db) -> DeleteFn:
        async def _delete(*, scopes: TenantScope, **ids: str) -> bool:
            key = entity.key(scopes, ids)
            agents = AGENTS.table
            async with writing(db) as conn:
                await conn.execute(
                    update(agents)
                    .where(
                        and_(
                            agents.c.tenant_id == key["tenant_id"],
                            agents.c.project_id == key["project_id"],
                            agents.c.branch == key["branch"],
                            agents.c.id == key["agent_id"],
                            agents.c[column] == key["id"],
                        )
                    )
                    .values({column: None, "updated_at": utcnow()})
                )
                return await entity.delete_where(conn, key) > 0

        return _delete

    return curried


delete_sub_agent = _deleting_clears(SUB_AGENTS, "default_sub_agent_id")
delete_context_config = _deleting_clears(CONTEXT_CONFIGS, "context_config_id")
