"""Agents, sub-agents, their relations and context configs."""

from __future__ import annotations

from agentfold_core.data_access.crud import Entity
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

AGENTS: Entity[AgentRow] = Entity(Agent, label="agent")
get_agent, list_agents, create_agent, update_agent, upsert_agent, delete_agent = AGENTS.functions()

SUB_AGENTS: Entity[SubAgentRow] = Entity(SubAgent, label="sub_agent")
(
    get_sub_agent,
    list_sub_agents,
    create_sub_agent,
    update_sub_agent,
    upsert_sub_agent,
    delete_sub_agent,
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
    delete_context_config,
) = CONTEXT_CONFIGS.functions()
