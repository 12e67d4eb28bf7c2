"""What a sub-agent uses: tools, function tools, components, skills, other agents."""

from __future__ import annotations

from agentfold_core.data_access.crud import Entity
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
    SubAgentToolRelation, label="sub_agent_tool_relation", id_param="relation_id"
)
(
    get_sub_agent_tool_relation,
    list_sub_agent_tool_relations,
    create_sub_agent_tool_relation,
    update_sub_agent_tool_relation,
    upsert_sub_agent_tool_relation,
    delete_sub_agent_tool_relation,
) = SUB_AGENT_TOOLS.functions()

SUB_AGENT_FUNCTION_TOOLS: Entity[SubAgentFunctionToolRelationRow] = Entity(
    SubAgentFunctionToolRelation, label="sub_agent_function_tool_relation", id_param="relation_id"
)
(
    get_sub_agent_function_tool_relation,
    list_sub_agent_function_tool_relations,
    create_sub_agent_function_tool_relation,
    update_sub_agent_function_tool_relation,
    upsert_sub_agent_function_tool_relation,
    delete_sub_agent_function_tool_relation,
) = SUB_AGENT_FUNCTION_TOOLS.functions()

SUB_AGENT_EXTERNAL_AGENTS: Entity[SubAgentExternalAgentRelationRow] = Entity(
    SubAgentExternalAgentRelation, label="sub_agent_external_agent_relation", id_param="relation_id"
)
(
    get_sub_agent_external_agent_relation,
    list_sub_agent_external_agent_relations,
    create_sub_agent_external_agent_relation,
    update_sub_agent_external_agent_relation,
    upsert_sub_agent_external_agent_relation,
    delete_sub_agent_external_agent_relation,
) = SUB_AGENT_EXTERNAL_AGENTS.functions()

SUB_AGENT_TEAM_AGENTS: Entity[SubAgentTeamAgentRelationRow] = Entity(
    SubAgentTeamAgentRelation, label="sub_agent_team_agent_relation", id_param="relation_id"
)
(
    get_sub_agent_team_agent_relation,
    list_sub_agent_team_agent_relations,
    create_sub_agent_team_agent_relation,
    update_sub_agent_team_agent_relation,
    upsert_sub_agent_team_agent_relation,
    delete_sub_agent_team_agent_relation,
) = SUB_AGENT_TEAM_AGENTS.functions()

SUB_AGENT_DATA_COMPONENTS: Entity[SubAgentDataComponentRow] = Entity(
    SubAgentDataComponent, label="sub_agent_data_component", id_param="relation_id"
)
(
    get_sub_agent_data_component,
    list_sub_agent_data_components,
    create_sub_agent_data_component,
    update_sub_agent_data_component,
    upsert_sub_agent_data_component,
    delete_sub_agent_data_component,
) = SUB_AGENT_DATA_COMPONENTS.functions()

SUB_AGENT_ARTIFACT_COMPONENTS: Entity[SubAgentArtifactComponentRow] = Entity(
    SubAgentArtifactComponent, label="sub_agent_artifact_component", id_param="relation_id"
)
(
    get_sub_agent_artifact_component,
    list_sub_agent_artifact_components,
    create_sub_agent_artifact_component,
    update_sub_agent_artifact_component,
    upsert_sub_agent_artifact_component,
    delete_sub_agent_artifact_component,
) = SUB_AGENT_ARTIFACT_COMPONENTS.functions()

SUB_AGENT_SKILLS: Entity[SubAgentSkillRow] = Entity(
    SubAgentSkill, label="sub_agent_skill", id_param="relation_id"
)
(
    get_sub_agent_skill,
    list_sub_agent_skills,
    create_sub_agent_skill,
    update_sub_agent_skill,
    upsert_sub_agent_skill,
    delete_sub_agent_skill,
) = SUB_AGENT_SKILLS.functions()
