"""Tables of the versioned manage database.

Each table is declared twice in one place: ``<Name>Row`` holds the columns and their
refinements (and is the validating *Select* model), ``<Name>`` is the table. Every key
starts ``tenant_id, project_id, branch``.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator
from sqlalchemy import Index, String
from sqlmodel import Field

from agentfold_core.content import (
    ComponentRender,
    ContextVariable,
    ConversationHistoryConfig,
    Headers,
    JsonObject,
    JsonSchema,
    ModelSettings,
    OutputTransform,
    SignatureVerification,
    StatusUpdates,
    StopWhen,
    ToolConfig,
    ToolPolicies,
    TriggerAuthentication,
)
from agentfold_core.db.base import ManageBase
from agentfold_core.db.columns import (
    DerivedIdentified,
    Identified,
    Timestamps,
    UiProperties,
    VersionedAgentKey,
    VersionedProjectKey,
    VersionedProjectRootKey,
    VersionedSubAgentKey,
)
from agentfold_core.db.fields import (
    PROMPT_MAX_LENGTH,
    json_field,
    reference_field,
    string_field,
    text_field,
)
from agentfold_core.db.foreign_keys import install_sqlite_set_null_triggers
from agentfold_core.db.foreign_keys import manage_parent as parent
from agentfold_core.db.foreign_keys import manage_reference as reference
from agentfold_core.db.list_order import add_list_order_indexes

SKILL_NAME_PATTERN = r"^[a-z0-9-]+$"
SKILL_NAME_MAX_LENGTH = 64
SKILL_FILE_PATH_MAX_LENGTH = 512


def _check_relative_path(value: str) -> str:
    # A skill file lands on disk beside its skill: no absolute paths, no escaping.
    path = PurePosixPath(value)
    if (
        not value
        or "\\" in value
        or "\x00" in value
        or path.is_absolute()
        or any(part in ("", ".", "..") for part in value.split("/"))
    ):
        raise ValueError(f"unsafe file path {value!r}: use a relative path without '..'")
    return value


def _check_skill_name(value: str) -> str:
    if not re.fullmatch(SKILL_NAME_PATTERN, value) or len(value) > SKILL_NAME_MAX_LENGTH:
        raise ValueError(f"invalid skill name {value!r}: 1..{SKILL_NAME_MAX_LENGTH} of [a-z0-9-]")
    return value


SkillName = Annotated[str, AfterValidator(_check_skill_name)]
RelativePath = Annotated[str, AfterValidator(_check_relative_path)]


def _prompt_field() -> Any:
    return text_field(max_length=PROMPT_MAX_LENGTH)


# --------------------------------------------------------------------------- projects


class ProjectRow(Timestamps, UiProperties, VersionedProjectRootKey):
    """A project's configuration on one branch; ``id`` is the project id."""

    models: ModelSettings | None = json_field()
    stop_when: StopWhen | None = json_field()


class Project(ProjectRow, ManageBase, table=True):
    """Table ``projects``."""

    __tablename__ = "projects"


# --------------------------------------------------------------------------- agents


class AgentRow(Timestamps, UiProperties, Identified, VersionedProjectKey):
    """An agent: a graph of sub-agents with a default entry point."""

    prompt: str | None = _prompt_field()
    default_sub_agent_id: str | None = reference_field()
    context_config_id: str | None = reference_field()
    models: ModelSettings | None = json_field()
    stop_when: StopWhen | None = json_field()
    status_updates: StatusUpdates | None = json_field()
    execution_mode: Literal["classic", "durable"] = string_field(32, default="classic")


class Agent(AgentRow, ManageBase, table=True):
    """Table ``agents``; the default sub-agent and context config are checked in code
    (a database FK would form a cycle with ``sub_agents``)."""

    __tablename__ = "agents"
    __table_args__ = (parent("project"),)


class SubAgentRow(Timestamps, UiProperties, Identified, VersionedAgentKey):
    """A sub-agent of an agent."""

    prompt: str | None = _prompt_field()
    conversation_history_config: ConversationHistoryConfig | None = json_field()
    models: ModelSettings | None = json_field()
    stop_when: StopWhen | None = json_field()
    output_contract: JsonSchema | None = json_field()


class SubAgent(SubAgentRow, ManageBase, table=True):
    """Table ``sub_agents``."""

    __tablename__ = "sub_agents"
    __table_args__ = (parent("agent"),)


class SubAgentRelationRow(Timestamps, DerivedIdentified, VersionedAgentKey):
    """A transfer or delegate edge between two sub-agents of one agent."""

    __natural_key__: ClassVar[tuple[str, ...]] = (
        "source_sub_agent_id",
        "target_sub_agent_id",
        "relation_type",
    )
    source_sub_agent_id: str = reference_field(required=True)
    target_sub_agent_id: str = reference_field(required=True)
    relation_type: Literal["transfer", "delegate"] = string_field(32, default="transfer")


class SubAgentRelation(SubAgentRelationRow, ManageBase, table=True):
    """Table ``sub_agent_relations``."""

    __tablename__ = "sub_agent_relations"
    __table_args__ = (
        parent("agent"),
        reference("sub_agents", "source_sub_agent_id", within="agent"),
        reference("sub_agents", "target_sub_agent_id", within="agent"),
        Index(None, "tenant_id", "project_id", "branch", "agent_id", "target_sub_agent_id"),
    )


class ContextConfigRow(Timestamps, Identified, VersionedAgentKey):
    """Request headers schema and fetched context variables of an agent."""

    headers_schema: JsonSchema | None = json_field()
    context_variables: dict[str, ContextVariable] | None = json_field()


class ContextConfig(ContextConfigRow, ManageBase, table=True):
    """Table ``context_configs``."""

    __tablename__ = "context_configs"
    __table_args__ = (parent("agent"),)


# --------------------------------------------------------------------------- tools


class CredentialReferenceRow(Timestamps, UiProperties, Identified, VersionedProjectKey):
    """Where a secret lives (a credential store) and how to fetch it; never the secret."""

    type: Literal["memory", "encrypted", "env", "keychain", "nango"] = string_field(
        32, default="encrypted"
    )
    credential_store_id: str = string_field(256, default="default")
    retrieval_params: JsonObject | None = json_field()
    # Informational link back to a tool; no FK, tools already point here (no cycle).
    tool_id: str | None = reference_field()
    user_id: str | None = string_field(256)
    created_by: str | None = string_field(256)


class CredentialReference(CredentialReferenceRow, ManageBase, table=True):
    """Table ``credential_references``."""

    __tablename__ = "credential_references"
    __table_args__ = (parent("project"),)


class ToolRow(Timestamps, UiProperties, Identified, VersionedProjectKey):
    """An MCP server and the tools it offers."""

    config: ToolConfig = json_field()
    headers: Headers | None = json_field()
    credential_reference_id: str | None = reference_field()
    image_url: str | None = string_field(2048)
    capabilities: JsonObject | None = json_field()
    last_error: str | None = text_field()


class Tool(ToolRow, ManageBase, table=True):
    """Table ``tools``."""

    __tablename__ = "tools"
    __table_args__ = (
        parent("project"),
        reference(
            "credential_references",
            "credential_reference_id",
            within="project",
            on_delete="SET NULL",
        ),
    )


class FunctionRow(Timestamps, Identified, VersionedProjectKey):
    """Code a function tool runs, with its input schema and dependencies."""

    input_schema: JsonSchema = json_field()
    execute_code: str = text_field(max_length=PROMPT_MAX_LENGTH, required=True)
    dependencies: dict[str, str] | None = json_field()


class Function(FunctionRow, ManageBase, table=True):
    """Table ``functions``."""

    __tablename__ = "functions"
    __table_args__ = (parent("project"),)


class FunctionToolRow(Timestamps, UiProperties, Identified, VersionedAgentKey):
    """A function exposed as a tool to an agent's sub-agents."""

    function_id: str = reference_field(required=True)


class FunctionTool(FunctionToolRow, ManageBase, table=True):
    """Table ``function_tools``."""

    __tablename__ = "function_tools"
    __table_args__ = (
        parent("agent"),
        reference("functions", "function_id", within="project"),
        Index(None, "tenant_id", "project_id", "branch", "function_id"),
    )


class SubAgentToolRelationRow(Timestamps, DerivedIdentified, VersionedSubAgentKey):
    """A sub-agent's use of an MCP tool."""

    __natural_key__: ClassVar[tuple[str, ...]] = ("tool_id",)
    tool_id: str = reference_field(required=True)
    selected_tools: list[str] | None = json_field()
    headers: Headers | None = json_field()
    tool_policies: ToolPolicies | None = json_field()


class SubAgentToolRelation(SubAgentToolRelationRow, ManageBase, table=True):
    """Table ``sub_agent_tool_relations``."""

    __tablename__ = "sub_agent_tool_relations"
    __table_args__ = (
        parent("sub_agent"),
        reference("tools", "tool_id", within="project"),
        Index(None, "tenant_id", "project_id", "branch", "tool_id"),
    )


class SubAgentFunctionToolRelationRow(Timestamps, DerivedIdentified, VersionedSubAgentKey):
    """A sub-agent's use of a function tool."""

    __natural_key__: ClassVar[tuple[str, ...]] = ("function_tool_id",)
    function_tool_id: str = reference_field(required=True)
    tool_policies: ToolPolicies | None = json_field()


class SubAgentFunctionToolRelation(SubAgentFunctionToolRelationRow, ManageBase, table=True):
    """Table ``sub_agent_function_tool_relations``."""

    __tablename__ = "sub_agent_function_tool_relations"
    __table_args__ = (
        parent("sub_agent"),
        reference("function_tools", "function_tool_id", within="agent"),
        Index(None, "tenant_id", "project_id", "branch", "agent_id", "function_tool_id"),
    )


class ExternalAgentRow(Timestamps, UiProperties, Identified, VersionedProjectKey):
    """An agent outside agentfold reached over A2A."""

    base_url: str = string_field(2048, default=...)
    credential_reference_id: str | None = reference_field()


class ExternalAgent(ExternalAgentRow, ManageBase, table=True):
    """Table ``external_agents``."""

    __tablename__ = "external_agents"
    __table_args__ = (
        parent("project"),
        reference(
            "credential_references",
            "credential_reference_id",
            within="project",
            on_delete="SET NULL",
        ),
    )


class SubAgentExternalAgentRelationRow(Timestamps, DerivedIdentified, VersionedSubAgentKey):
    """A sub-agent's delegation to an external agent."""

    __natural_key__: ClassVar[tuple[str, ...]] = ("external_agent_id",)
    external_agent_id: str = reference_field(required=True)
    headers: Headers | None = json_field()


class SubAgentExternalAgentRelation(SubAgentExternalAgentRelationRow, ManageBase, table=True):
    """Table ``sub_agent_external_agent_relations``."""

    __tablename__ = "sub_agent_external_agent_relations"
    __table_args__ = (
        parent("sub_agent"),
        reference("external_agents", "external_agent_id", within="project"),
        Index(None, "tenant_id", "project_id", "branch", "external_agent_id"),
    )


class SubAgentTeamAgentRelationRow(Timestamps, DerivedIdentified, VersionedSubAgentKey):
    """A sub-agent's delegation to another agent of the same project."""

    __natural_key__: ClassVar[tuple[str, ...]] = ("target_agent_id",)
    target_agent_id: str = reference_field(required=True)
    headers: Headers | None = json_field()


class SubAgentTeamAgentRelation(SubAgentTeamAgentRelationRow, ManageBase, table=True):
    """Table ``sub_agent_team_agent_relations``."""

    __tablename__ = "sub_agent_team_agent_relations"
    __table_args__ = (
        parent("sub_agent"),
        reference("agents", "target_agent_id", within="project"),
        Index(None, "tenant_id", "project_id", "branch", "target_agent_id"),
    )


# --------------------------------------------------------------------------- components


class DataComponentRow(Timestamps, UiProperties, Identified, VersionedProjectKey):
    """Structured data a sub-agent can emit."""

    props: JsonSchema | None = json_field()
    render: ComponentRender | None = json_field()


class DataComponent(DataComponentRow, ManageBase, table=True):
    """Table ``data_components``."""

    __tablename__ = "data_components"
    __table_args__ = (parent("project"),)


class ArtifactComponentRow(Timestamps, UiProperties, Identified, VersionedProjectKey):
    """An artifact a sub-agent can produce."""

    props: JsonSchema | None = json_field()
    render: ComponentRender | None = json_field()


class ArtifactComponent(ArtifactComponentRow, ManageBase, table=True):
    """Table ``artifact_components``."""

    __tablename__ = "artifact_components"
    __table_args__ = (parent("project"),)


class SubAgentDataComponentRow(Timestamps, DerivedIdentified, VersionedSubAgentKey):
    """A data component a sub-agent may emit."""

    __natural_key__: ClassVar[tuple[str, ...]] = ("data_component_id",)
    data_component_id: str = reference_field(required=True)


class SubAgentDataComponent(SubAgentDataComponentRow, ManageBase, table=True):
    """Table ``sub_agent_data_components``."""

    __tablename__ = "sub_agent_data_components"
    __table_args__ = (
        parent("sub_agent"),
        reference("data_components", "data_component_id", within="project"),
        Index(None, "tenant_id", "project_id", "branch", "data_component_id"),
    )


class SubAgentArtifactComponentRow(Timestamps, DerivedIdentified, VersionedSubAgentKey):
    """An artifact component a sub-agent may produce."""

    __natural_key__: ClassVar[tuple[str, ...]] = ("artifact_component_id",)
    artifact_component_id: str = reference_field(required=True)


class SubAgentArtifactComponent(SubAgentArtifactComponentRow, ManageBase, table=True):
    """Table ``sub_agent_artifact_components``."""

    __tablename__ = "sub_agent_artifact_components"
    __table_args__ = (
        parent("sub_agent"),
        reference("artifact_components", "artifact_component_id", within="project"),
        Index(None, "tenant_id", "project_id", "branch", "artifact_component_id"),
    )


# --------------------------------------------------------------------------- skills


class SkillRow(Timestamps, VersionedProjectKey):
    """Instructions a sub-agent can load; the id is the skill name."""

    id: SkillName = Field(
        primary_key=True, max_length=SKILL_NAME_MAX_LENGTH, sa_type=String(SKILL_NAME_MAX_LENGTH)
    )
    description: str = text_field(max_length=1024, required=True)
    content: str = text_field(max_length=PROMPT_MAX_LENGTH, required=True)
    properties: JsonObject | None = json_field()


class Skill(SkillRow, ManageBase, table=True):
    """Table ``skills``."""

    __tablename__ = "skills"
    __table_args__ = (parent("project"),)


class SkillFileRow(Timestamps, DerivedIdentified, VersionedProjectKey):
    """A file shipped with a skill, at a safe relative path."""

    __natural_key__: ClassVar[tuple[str, ...]] = ("skill_id", "path")
    skill_id: str = reference_field(required=True)
    path: RelativePath = string_field(SKILL_FILE_PATH_MAX_LENGTH, default=...)
    content: str = text_field(max_length=PROMPT_MAX_LENGTH, required=True)


class SkillFile(SkillFileRow, ManageBase, table=True):
    """Table ``skill_files``."""

    __tablename__ = "skill_files"
    __table_args__ = (
        parent("project"),
        reference("skills", "skill_id", within="project"),
        Index(None, "tenant_id", "project_id", "branch", "skill_id"),
    )


class SubAgentSkillRow(Timestamps, DerivedIdentified, VersionedSubAgentKey):
    """A skill available to a sub-agent, in order, optionally always loaded."""

    __natural_key__: ClassVar[tuple[str, ...]] = ("skill_id",)
    skill_id: str = reference_field(required=True)
    index: int = Field(default=0, ge=0)
    always_loaded: bool = False


class SubAgentSkill(SubAgentSkillRow, ManageBase, table=True):
    """Table ``sub_agent_skills``."""

    __tablename__ = "sub_agent_skills"
    __table_args__ = (
        parent("sub_agent"),
        reference("skills", "skill_id", within="project"),
        Index(None, "tenant_id", "project_id", "branch", "skill_id"),
    )


# --------------------------------------------------------------------------- triggers


class TriggerRow(Timestamps, UiProperties, Identified, VersionedAgentKey):
    """A webhook that starts a conversation with an agent."""

    enabled: bool = True
    input_schema: JsonSchema | None = json_field()
    output_transform: OutputTransform | None = json_field()
    message_template: str | None = text_field(max_length=PROMPT_MAX_LENGTH)
    authentication: TriggerAuthentication | None = json_field()
    signature_verification: SignatureVerification | None = json_field()
    signing_secret_credential_reference_id: str | None = reference_field()


class Trigger(TriggerRow, ManageBase, table=True):
    """Table ``triggers``."""

    __tablename__ = "triggers"
    __table_args__ = (
        parent("agent"),
        reference(
            "credential_references",
            "signing_secret_credential_reference_id",
            within="project",
            on_delete="SET NULL",
        ),
    )


install_sqlite_set_null_triggers(ManageBase.metadata)
add_list_order_indexes(ManageBase)

# Version control's own tables belong to this schema (and to its migrations), and every
# versioned table records what it writes.
from agentfold_core.versioning import tables as _version_control  # noqa: E402, F401
from agentfold_core.versioning.capture import install_capture_triggers  # noqa: E402

install_capture_triggers(ManageBase.metadata)
