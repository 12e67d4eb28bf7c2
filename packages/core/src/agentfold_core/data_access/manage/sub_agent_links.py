"""What a sub-agent uses: tools, function tools, components, skills, other agents."""

from __future__ import annotations

from typing import Any

from agentfold_core.data_access.crud import Entity
from agentfold_core.data_access.links import Link
from agentfold_core.db.manage.schema import (
    SubAgentArtifactComponent,
    SubAgentArtifactComponentRow,
    SubAgentDataComponent,
    SubAgentDataComponentRow,
    SubAgentExternalAgentRelation,
    SubAgentExternalAgentRelationRow,
    SubAgentFunctionToolRelation,
    SubAgentFunctionToolRelationRow,
    SubAgentSkill,
    SubAgentSkillRow,
    SubAgentTeamAgentRelation,
    SubAgentTeamAgentRelationRow,
    SubAgentToolRelation,
    SubAgentToolRelationRow,
)

SUB_AGENT_TOOLS: Entity[SubAgentToolRelationRow] = Entity(
    SubAgentToolRelation,
    label="sub_agent_tool_relation",
    plural="sub_agent_tool_relations",
    path="sub-agent-tool-relations",
    id_param="relation_id",
)
get_sub_agent_tool_relation = SUB_AGENT_TOOLS.get
list_sub_agent_tool_relations = SUB_AGENT_TOOLS.list
create_sub_agent_tool_relation = SUB_AGENT_TOOLS.create
update_sub_agent_tool_relation = SUB_AGENT_TOOLS.update
upsert_sub_agent_tool_relation = SUB_AGENT_TOOLS.upsert
delete_sub_agent_tool_relation = SUB_AGENT_TOOLS.delete

SUB_AGENT_FUNCTION_TOOLS: Entity[SubAgentFunctionToolRelationRow] = Entity(
    SubAgentFunctionToolRelation,
    label="sub_agent_function_tool_relation",
    plural="sub_agent_function_tool_relations",
    path="sub-agent-function-tool-relations",
    id_param="relation_id",
)
get_sub_agent_function_tool_relation = SUB_AGENT_FUNCTION_TOOLS.get
list_sub_agent_function_tool_relations = SUB_AGENT_FUNCTION_TOOLS.list
create_sub_agent_function_tool_relation = SUB_AGENT_FUNCTION_TOOLS.create
update_sub_agent_function_tool_relation = SUB_AGENT_FUNCTION_TOOLS.update
upsert_sub_agent_function_tool_relation = SUB_AGENT_FUNCTION_TOOLS.upsert
delete_sub_agent_function_tool_relation = SUB_AGENT_FUNCTION_TOOLS.delete

SUB_AGENT_EXTERNAL_AGENTS: Entity[SubAgentExternalAgentRelationRow] = Entity(
    SubAgentExternalAgentRelation,
    label="sub_agent_external_agent_relation",
    plural="sub_agent_external_agent_relations",
    path="sub-agent-external-agent-relations",
    id_param="relation_id",
)
get_sub_agent_external_agent_relation = SUB_AGENT_EXTERNAL_AGENTS.get
list_sub_agent_external_agent_relations = SUB_AGENT_EXTERNAL_AGENTS.list
create_sub_agent_external_agent_relation = SUB_AGENT_EXTERNAL_AGENTS.create
update_sub_agent_external_agent_relation = SUB_AGENT_EXTERNAL_AGENTS.update
upsert_sub_agent_external_agent_relation = SUB_AGENT_EXTERNAL_AGENTS.upsert
delete_sub_agent_external_agent_relation = SUB_AGENT_EXTERNAL_AGENTS.delete

SUB_AGENT_TEAM_AGENTS: Entity[SubAgentTeamAgentRelationRow] = Entity(
    SubAgentTeamAgentRelation,
    label="sub_agent_team_agent_relation",
    plural="sub_agent_team_agent_relations",
    path="sub-agent-team-agent-relations",
    id_param="relation_id",
)
get_sub_agent_team_agent_relation = SUB_AGENT_TEAM_AGENTS.get
list_sub_agent_team_agent_relations = SUB_AGENT_TEAM_AGENTS.list
create_sub_agent_team_agent_relation = SUB_AGENT_TEAM_AGENTS.create
update_sub_agent_team_agent_relation = SUB_AGENT_TEAM_AGENTS.update
upsert_sub_agent_team_agent_relation = SUB_AGENT_TEAM_AGENTS.upsert
delete_sub_agent_team_agent_relation = SUB_AGENT_TEAM_AGENTS.delete

SUB_AGENT_DATA_COMPONENTS: Entity[SubAgentDataComponentRow] = Entity(
    SubAgentDataComponent,
    label="sub_agent_data_component",
    plural="sub_agent_data_components",
    path="sub-agent-data-components",
    id_param="relation_id",
)
get_sub_agent_data_component = SUB_AGENT_DATA_COMPONENTS.get
list_sub_agent_data_components = SUB_AGENT_DATA_COMPONENTS.list
create_sub_agent_data_component = SUB_AGENT_DATA_COMPONENTS.create
update_sub_agent_data_component = SUB_AGENT_DATA_COMPONENTS.update
upsert_sub_agent_data_component = SUB_AGENT_DATA_COMPONENTS.upsert
delete_sub_agent_data_component = SUB_AGENT_DATA_COMPONENTS.delete

SUB_AGENT_ARTIFACT_COMPONENTS: Entity[SubAgentArtifactComponentRow] = Entity(
    SubAgentArtifactComponent,
    label="sub_agent_artifact_component",
    plural="sub_agent_artifact_components",
    path="sub-agent-artifact-components",
    id_param="relation_id",
)
get_sub_agent_artifact_component = SUB_AGENT_ARTIFACT_COMPONENTS.get
list_sub_agent_artifact_components = SUB_AGENT_ARTIFACT_COMPONENTS.list
create_sub_agent_artifact_component = SUB_AGENT_ARTIFACT_COMPONENTS.create
update_sub_agent_artifact_component = SUB_AGENT_ARTIFACT_COMPONENTS.update
upsert_sub_agent_artifact_component = SUB_AGENT_ARTIFACT_COMPONENTS.upsert
delete_sub_agent_artifact_component = SUB_AGENT_ARTIFACT_COMPONENTS.delete

SUB_AGENT_SKILLS: Entity[SubAgentSkillRow] = Entity(
    SubAgentSkill,
    label="sub_agent_skill",
    plural="sub_agent_skills",
    path="sub-agent-skills",
    id_param="relation_id",
)
get_sub_agent_skill = SUB_AGENT_SKILLS.get
list_sub_agent_skills = SUB_AGENT_SKILLS.list
create_sub_agent_skill = SUB_AGENT_SKILLS.create
update_sub_agent_skill = SUB_AGENT_SKILLS.update
upsert_sub_agent_skill = SUB_AGENT_SKILLS.upsert
delete_sub_agent_skill = SUB_AGENT_SKILLS.delete

TOOL_LINKS = Link(SUB_AGENT_TOOLS, "tool_id")
link_tool, unlink_tool = TOOL_LINKS.link, TOOL_LINKS.unlink
list_sub_agents_using_tool = TOOL_LINKS.users

FUNCTION_TOOL_LINKS = Link(SUB_AGENT_FUNCTION_TOOLS, "function_tool_id")
link_function_tool, unlink_function_tool = FUNCTION_TOOL_LINKS.link, FUNCTION_TOOL_LINKS.unlink
list_sub_agents_using_function_tool = FUNCTION_TOOL_LINKS.users

EXTERNAL_AGENT_LINKS = Link(SUB_AGENT_EXTERNAL_AGENTS, "external_agent_id")
link_external_agent = EXTERNAL_AGENT_LINKS.link
unlink_external_agent = EXTERNAL_AGENT_LINKS.unlink
list_sub_agents_using_external_agent = EXTERNAL_AGENT_LINKS.users

TEAM_AGENT_LINKS = Link(SUB_AGENT_TEAM_AGENTS, "target_agent_id")
link_team_agent, unlink_team_agent = TEAM_AGENT_LINKS.link, TEAM_AGENT_LINKS.unlink
list_sub_agents_delegating_to_agent = TEAM_AGENT_LINKS.users

DATA_COMPONENT_LINKS = Link(SUB_AGENT_DATA_COMPONENTS, "data_component_id")
link_data_component = DATA_COMPONENT_LINKS.link
unlink_data_component = DATA_COMPONENT_LINKS.unlink
list_sub_agents_using_data_component = DATA_COMPONENT_LINKS.users

ARTIFACT_COMPONENT_LINKS = Link(SUB_AGENT_ARTIFACT_COMPONENTS, "artifact_component_id")
link_artifact_component = ARTIFACT_COMPONENT_LINKS.link
unlink_artifact_component = ARTIFACT_COMPONENT_LINKS.unlink
list_sub_agents_using_artifact_component = ARTIFACT_COMPONENT_LINKS.users

SKILL_LINKS = Link(SUB_AGENT_SKILLS, "skill_id")
link_skill, unlink_skill = SKILL_LINKS.link, SKILL_LINKS.unlink
list_sub_agents_using_skill = SKILL_LINKS.users

# Every link kind, for callers that walk them (the API's link and "used by" routes).
LINKS: tuple[Link[Any], ...] = (
    TOOL_LINKS,
    FUNCTION_TOOL_LINKS,
    EXTERNAL_AGENT_LINKS,
    TEAM_AGENT_LINKS,
    DATA_COMPONENT_LINKS,
    ARTIFACT_COMPONENT_LINKS,
    SKILL_LINKS,
)
