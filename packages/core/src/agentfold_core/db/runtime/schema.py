"""Tables of the runtime database (transactional, not versioned).

As in the manage schema, ``<Name>Row`` holds the columns (and is the Select model)
and ``<Name>`` is the table. Every key starts with ``tenant_id``; rows cascade from
their tenant and project. Columns naming manage entities (agent ids, sub-agent ids)
have no FK: they live in the other database and are checked in code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from agentfold_core.content import JsonObject, MessageContent, MessagePart, ResolvedRef
from agentfold_core.db.base import RuntimeBase
from agentfold_core.db.columns import (
    AgentKey,
    Identified,
    ProjectKey,
    ProjectRootKey,
    TenantKey,
    TenantRootKey,
    Timestamps,
)
from agentfold_core.db.fields import (
    IMMUTABLE,
    SERVER_GENERATED,
    json_field,
    name_field,
    reference_field,
    secret_field,
    string_field,
    text_field,
    timestamp_field,
)
from agentfold_core.db.foreign_keys import runtime_parent as parent
from agentfold_core.db.foreign_keys import runtime_reference as reference
from agentfold_core.db.list_order import add_list_order_indexes
from agentfold_core.db.types import UTCDateTime

TaskStatus = Literal["pending", "working", "input_required", "completed", "failed", "canceled"]


class TenantRow(Timestamps, TenantRootKey):
    """A tenant; every runtime row cascades from it. ``id`` is the tenant id."""

    name: str = name_field()


class Tenant(TenantRow, RuntimeBase, table=True):
    """Table ``tenants``."""

    __tablename__ = "tenants"


class ProjectMetadataRow(Timestamps, ProjectRootKey):
    """Source of truth for a project's existence; ``id`` is the project id."""

    main_branch_name: str = string_field(256, default="main")
    created_by: str | None = string_field(256)


class ProjectMetadata(ProjectMetadataRow, RuntimeBase, table=True):
    """Table ``project_metadata``."""

    __tablename__ = "project_metadata"
    __table_args__ = (parent("tenant"),)


ApiKeyRole = Literal["admin", "editor", "viewer", "runner"]
KeyBinding = Literal["required", "optional", "forbidden"]

# What each role is bound to: (project_id, agent_id). An admin key covers the whole
# tenant; editor and viewer keys one project; a runner key one project, optionally one
# agent. Checked on issue (field errors) and by the CHECK constraint below, which says
# the same (a test compares the two; revisions spell the SQL out).
API_KEY_ROLE_BINDINGS: dict[str, tuple[KeyBinding, KeyBinding]] = {
    "admin": ("forbidden", "forbidden"),
    "editor": ("required", "forbidden"),
    "viewer": ("required", "forbidden"),
    "runner": ("required", "optional"),
}
API_KEY_ROLE_BINDING_CHECK = (
    "(role = 'admin' AND project_id IS NULL AND agent_id IS NULL)"
    " OR (role IN ('editor', 'viewer') AND project_id IS NOT NULL AND agent_id IS NULL)"
    " OR (role = 'runner' AND project_id IS NOT NULL)"
)


class ApiKeyPublicFields(SQLModel):
    """Columns of an API key shown before its secret (see ``ApiKeyRow``)."""

    name: str | None = name_field(required=False)
    public_id: str = string_field(64, default=..., server_generated=True)


class ApiKeySecretFields(SQLModel):
    """The stored hash of an API key: never returned by reads."""

    key_hash: str = secret_field()


class ApiKeyBindingFields(SQLModel):
    """Columns of an API key shown after its secret: binding, role and lifetime."""

    key_prefix: str = string_field(32, default=..., server_generated=True)
    # A key stays bound to what it was issued for; rebinding means a new key. Admin keys
    # are tenant-wide: no project.
    project_id: str | None = reference_field(immutable=True)
    agent_id: str | None = reference_field(immutable=True)
    role: ApiKeyRole = string_field(32, default="runner")
    expires_at: datetime | None = timestamp_field()
    # Set by verification only (throttled), never by a client.
    last_used_at: datetime | None = Field(
        default=None, sa_type=UTCDateTime, sa_column_kwargs={"info": {SERVER_GENERATED: True}}
    )
    # Set by revoke_api_key only: revocation is final, so no update may change it.
    revoked_at: datetime | None = Field(
        default=None,
        sa_type=UTCDateTime,
        sa_column_kwargs={"info": {IMMUTABLE: True, SERVER_GENERATED: True}},
    )


class ApiKeyPublic(ApiKeyBindingFields, ApiKeyPublicFields, Timestamps, Identified, TenantKey):
    """What reads return of an API key: every column but the secret hash."""


class ApiKeyRow(
    ApiKeyBindingFields, ApiKeySecretFields, ApiKeyPublicFields, Timestamps, Identified, TenantKey
):
    """An API key: only its public id, prefix and scrypt hash are stored."""


class ApiKey(ApiKeyRow, RuntimeBase, table=True):
    """Table ``api_keys``."""

    __tablename__ = "api_keys"
    __table_args__ = (
        parent("tenant"),
        # Bound to a project of the same tenant (admin keys to none); deleting the
        # project deletes its keys by cascade.
        reference("project_metadata", "project_id", within="tenant"),
        UniqueConstraint("tenant_id", "public_id"),
        CheckConstraint(API_KEY_ROLE_BINDING_CHECK, name="role_binding"),
        # Authentication looks a key up by public id alone, before the tenant is known.
        Index("ix_api_keys_public_id_lookup", "public_id"),
    )


class ConversationRow(Timestamps, Identified, ProjectKey):
    """A conversation with an agent, pinned to the configuration ref it runs against."""

    agent_id: str = reference_field(required=True)
    active_sub_agent_id: str | None = reference_field()
    ref: ResolvedRef | None = json_field()
    title: str | None = string_field(1024)
    properties: JsonObject | None = json_field()


class Conversation(ConversationRow, RuntimeBase, table=True):
    """Table ``conversations``."""

    __tablename__ = "conversations"
    __table_args__ = (
        parent("project"),
        Index(None, "tenant_id", "project_id", "agent_id", "created_at"),
    )


class TaskRow(Timestamps, Identified, ProjectKey):
    """A unit of work a sub-agent performs."""

    agent_id: str | None = reference_field()
    sub_agent_id: str = reference_field(required=True)
    context_id: str | None = reference_field()
    status: TaskStatus = string_field(32, default="pending")
    ref: ResolvedRef | None = json_field()
    properties: JsonObject | None = json_field()


class Task(TaskRow, RuntimeBase, table=True):
    """Table ``tasks``."""

    __tablename__ = "tasks"
    __table_args__ = (
        parent("project"),
        Index(None, "tenant_id", "project_id", "context_id"),
    )


class TaskRelationRow(Timestamps, Identified, ProjectKey):
    """A parent/child link between two tasks."""

    parent_task_id: str = reference_field(required=True)
    child_task_id: str = reference_field(required=True)
    relation_type: Literal["parent_child", "delegation"] = string_field(32, default="parent_child")


class TaskRelation(TaskRelationRow, RuntimeBase, table=True):
    """Table ``task_relations``."""

    __tablename__ = "task_relations"
    __table_args__ = (
        parent("project"),
        reference("tasks", "parent_task_id"),
        reference("tasks", "child_task_id"),
        Index(None, "tenant_id", "project_id", "child_task_id"),
    )


class MessageRow(Timestamps, Identified, ProjectKey):
    """One message of a conversation."""

    conversation_id: str = reference_field(required=True)
    role: Literal["user", "agent", "system", "tool"] = string_field(32, default=...)
    from_sub_agent_id: str | None = reference_field()
    to_sub_agent_id: str | None = reference_field()
    from_external_agent_id: str | None = reference_field()
    content: MessageContent = json_field()
    visibility: Literal["user-facing", "internal", "external"] = string_field(
        32, default="user-facing"
    )
    message_type: Literal["chat", "a2a-request", "a2a-response", "task-update", "tool-call"] = (
        string_field(32, default="chat")
    )
    task_id: str | None = reference_field()
    parent_message_id: str | None = reference_field()


class Message(MessageRow, RuntimeBase, table=True):
    """Table ``messages``."""

    __tablename__ = "messages"
    __table_args__ = (
        parent("project"),
        reference("conversations", "conversation_id"),
        Index(None, "tenant_id", "project_id", "conversation_id", "created_at"),
    )


class LedgerArtifactRow(Timestamps, Identified, ProjectKey):
    """An artifact produced by a task."""

    task_id: str | None = reference_field()
    context_id: str | None = reference_field()
    name: str | None = name_field(required=False)
    description: str | None = text_field()
    parts: list[MessagePart] | None = json_field()
    properties: JsonObject | None = json_field()


class LedgerArtifact(LedgerArtifactRow, RuntimeBase, table=True):
    """Table ``ledger_artifacts``."""

    __tablename__ = "ledger_artifacts"
    __table_args__ = (
        parent("project"),
        reference("tasks", "task_id"),
        Index(None, "tenant_id", "project_id", "task_id"),
        Index(None, "tenant_id", "project_id", "context_id"),
    )


class ContextCacheRow(Timestamps, Identified, ProjectKey):
    """A fetched context variable, cached per conversation."""

    conversation_id: str = reference_field(required=True)
    context_config_id: str = reference_field(required=True)
    context_variable_key: str = string_field(256, default=...)
    value: JsonObject | list[object] | str | int | float | bool | None = json_field()
    request_hash: str | None = string_field(128)
    ref: ResolvedRef | None = json_field()


class ContextCache(ContextCacheRow, RuntimeBase, table=True):
    """Table ``context_cache``."""

    __tablename__ = "context_cache"
    __table_args__ = (
        parent("project"),
        reference("conversations", "conversation_id"),
        Index(
            None, "tenant_id", "project_id", "conversation_id", "context_config_id",
            "context_variable_key",
        ),
    )


class EventRow(Timestamps, Identified, ProjectKey):
    """Something that happened in a conversation (for tracing and audit)."""

    conversation_id: str = reference_field(required=True)
    type: str = string_field(128, default=...)
    payload: JsonObject | None = json_field()


class Event(EventRow, RuntimeBase, table=True):
    """Table ``events``."""

    __tablename__ = "events"
    __table_args__ = (
        parent("project"),
        reference("conversations", "conversation_id"),
        Index(None, "tenant_id", "project_id", "conversation_id", "created_at"),
    )


class FeedbackRow(Timestamps, Identified, ProjectKey):
    """A person's verdict on a message."""

    conversation_id: str = reference_field(required=True)
    message_id: str = reference_field(required=True)
    kind: Literal["positive", "negative"] = string_field(16, default=...)
    comment: str | None = text_field(max_length=10_000)


class Feedback(FeedbackRow, RuntimeBase, table=True):
    """Table ``feedback``."""

    __tablename__ = "feedback"
    __table_args__ = (
        parent("project"),
        reference("conversations", "conversation_id"),
        reference("messages", "message_id"),
        Index(None, "tenant_id", "project_id", "message_id"),
    )


class TriggerInvocationRow(Timestamps, Identified, AgentKey):
    """One call of a webhook trigger and what became of it."""

    trigger_id: str = reference_field(required=True)
    conversation_id: str | None = reference_field()
    status: Literal["pending", "success", "failed"] = string_field(16, default="pending")
    request_payload: JsonObject | None = json_field()
    transformed_payload: JsonObject | None = json_field()
    error_message: str | None = text_field(max_length=10_000)
    ref: ResolvedRef | None = json_field()


class TriggerInvocation(TriggerInvocationRow, RuntimeBase, table=True):
    """Table ``trigger_invocations``."""

    __tablename__ = "trigger_invocations"
    __table_args__ = (
        parent("project"),
        Index(None, "tenant_id", "project_id", "agent_id", "trigger_id", "created_at"),
    )


add_list_order_indexes(RuntimeBase)
