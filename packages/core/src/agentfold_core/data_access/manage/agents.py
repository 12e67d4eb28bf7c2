"""Agents, sub-agents, their relations and context configs."""

from __future__ import annotations

from agentfold_core.data_access.crud import Entity
from agentfold_core.data_access.soft_references import SoftReference
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

AGENTS: Entity[AgentRow] = Entity(Agent, label="agent", plural="agents", path="agents")
get_agent = AGENTS.get
list_agents = AGENTS.list
create_agent = AGENTS.create
update_agent = AGENTS.update
upsert_agent = AGENTS.upsert
delete_agent = AGENTS.delete

SUB_AGENTS: Entity[SubAgentRow] = Entity(
    SubAgent,
    label="sub_agent",
    plural="sub_agents",
    path="sub-agents",
)
get_sub_agent = SUB_AGENTS.get
list_sub_agents = SUB_AGENTS.list
create_sub_agent = SUB_AGENTS.create
update_sub_agent = SUB_AGENTS.update
upsert_sub_agent = SUB_AGENTS.upsert
delete_sub_agent = SUB_AGENTS.delete

SUB_AGENT_RELATIONS: Entity[SubAgentRelationRow] = Entity(
    SubAgentRelation,
    label="sub_agent_relation",
    plural="sub_agent_relations",
    path="sub-agent-relations",
    id_param="relation_id",
)
get_sub_agent_relation = SUB_AGENT_RELATIONS.get
list_sub_agent_relations = SUB_AGENT_RELATIONS.list
create_sub_agent_relation = SUB_AGENT_RELATIONS.create
update_sub_agent_relation = SUB_AGENT_RELATIONS.update
upsert_sub_agent_relation = SUB_AGENT_RELATIONS.upsert
delete_sub_agent_relation = SUB_AGENT_RELATIONS.delete

CONTEXT_CONFIGS: Entity[ContextConfigRow] = Entity(
    ContextConfig,
    label="context_config",
    plural="context_configs",
    path="context-configs",
)
get_context_config = CONTEXT_CONFIGS.get
list_context_configs = CONTEXT_CONFIGS.list
create_context_config = CONTEXT_CONFIGS.create
update_context_config = CONTEXT_CONFIGS.update
upsert_context_config = CONTEXT_CONFIGS.upsert
delete_context_config = CONTEXT_CONFIGS.delete

# An agent's default sub-agent and context config are its own children, so a database
# FK would be a cycle; these rules check them on every write and clear them when the
# target goes, whoever writes (a function, a route, a document import).
SOFT_REFERENCES = (
    SoftReference(AGENTS, "default_sub_agent_id", SUB_AGENTS),
    SoftReference(AGENTS, "context_config_id", CONTEXT_CONFIGS),
)
