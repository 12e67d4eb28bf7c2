"""Tables of the runtime database (transactional, not versioned).

As in the manage schema, ``<Name>Row`` holds the columns (and is the Select model)
and ``<Name>`` is the table. Every key starts with ``tenant_id``; rows cascade from
their tenant and project. Columns naming manage entities (agent ids, sub-agent ids)
have no FK: they live in the other database and are checked in code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import BigInteger, CheckConstraint, Index, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from agentfold_core.amounts import Amount
from agentfold_core.content import (
    JsonObject,
    LedgerAllocation,
    MessageContent,
    MessagePart,
    ResolvedRef,
    RunError,
    ToolPayload,
)
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
    amount_field,
    count_field,
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
from agentfold_core.db.types import JSONContent, UTCDateTime
from agentfold_core.ids import ID_MAX_LENGTH

TaskStatus = Literal["pending", "working", "input_required", "completed", "failed", "canceled"]


class TenantRow(Timestamps, TenantRootKey):
    """A tenant; every runtime row cascades from it. ``id`` is the tenant id."""

    name: str = name_field()


class Tenant(TenantRow, RuntimeBase, table=True):
    """Table ``tenants``."""

    __tablename__ = "tenants"


class ProjectMetadataRow(Timestamps, ProjectRootKey):
    """Source of truth for a project's existence; ``id`` is the project id.

    It also holds the project's retention settings: how many days run records (runs
    with their steps and calls), messages and events are kept (``None``: forever), and
    whether LLM request and response bodies are stored at all.
    """

    main_branch_name: str = string_field(256, default="main")
    created_by: str | None = string_field(256)
    retention_run_days: int | None = Field(default=None, ge=1, le=36_500)
    retention_message_days: int | None = Field(default=None, ge=1, le=36_500)
    retention_event_days: int | None = Field(default=None, ge=1, le=36_500)
    store_llm_bodies: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


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
    # Failed authentication attempts with this key's public id (a wrong secret, or the
    # key used after it expired or was revoked), counted by the audit's throttled
    # writer (data_access.runtime.key_failures): at most one write per key and window.
    failed_attempts: int = Field(
        default=0,
        ge=0,
        le=2**62,
        sa_type=BigInteger,
        # The database's default only: a client-side one would be bound as NULL by the
        # prepared inserts, which bind just the values they are given.
        sa_column_kwargs={
            "default": None,
            "server_default": "0",
            "info": {SERVER_GENERATED: True},
        },
    )
    last_failed_at: datetime | None = Field(
        default=None, sa_type=UTCDateTime, sa_column_kwargs={"info": {SERVER_GENERATED: True}}
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


class CredentialSecretPublicFields(SQLModel):
    """What may be shown of a stored secret: which master key wraps it, and its version."""

    # The envelope format, so a later one can be told apart from this one.
    scheme: str = string_field(32, default=..., server_generated=True)
    # The id (never the key) of the master key in AGENTFOLD_SECRET_KEYS wrapping the
    # data key; rotation moves it to the current key.
    key_id: str = string_field(64, default=..., server_generated=True)
    # Bumped by every write and every re-wrap: rotation compares and sets on it, so a
    # value written meanwhile is never overwritten by a stale re-wrap.
    version: int = count_field(default=1, server_generated=True)


class CredentialSecretSealedFields(SQLModel):
    """The envelope of a secret (base64): never returned by reads."""

    wrapped_key: str = secret_field(128)
    wrap_nonce: str = secret_field(32)
    nonce: str = secret_field(32)
    ciphertext: str = secret_field(None)


class CredentialSecretPublic(CredentialSecretPublicFields, Timestamps, Identified, ProjectKey):
    """What reads return of a stored secret: every column but its envelope."""


class CredentialSecretRow(
    CredentialSecretSealedFields, CredentialSecretPublicFields, Timestamps, Identified, ProjectKey
):
    """A credential secret of the encrypted store, sealed with AES-256-GCM (envelope:
    a data key per secret, wrapped by a master key); ``id`` is the secret's key name."""


class CredentialSecret(CredentialSecretRow, RuntimeBase, table=True):
    """Table ``credential_secrets``."""

    __tablename__ = "credential_secrets"
    __table_args__ = (parent("project"),)


# Bounds of the request headers an audit event keeps (longer values are cut).
CLIENT_ADDRESS_MAX_LENGTH = 64
USER_AGENT_MAX_LENGTH = 512


class AuditEventRow(Timestamps, Identified, TenantKey):
    """One security-relevant event of a tenant: who did what to which resource, when
    (``created_at``) and from where. Append-only; ``detail`` never holds a secret.

    ``project_id`` names the project of the target, without a foreign key: the audit
    outlives the project (it is removed only with its tenant).
    """

    # A stable code (``api_key.created``, ``auth.failed``...): AUDIT_ACTIONS.
    action: str = string_field(64, default=...)
    # ``api-key:<key id>``, ``operator`` or ``unknown`` (an unauthenticated caller).
    principal: str = string_field(300, default=...)
    target_kind: str | None = string_field(64)
    target_id: str | None = string_field(ID_MAX_LENGTH)
    project_id: str | None = reference_field()
    client_address: str | None = string_field(CLIENT_ADDRESS_MAX_LENGTH)
    user_agent: str | None = string_field(USER_AGENT_MAX_LENGTH)
    detail: JsonObject | None = json_field()


class AuditEvent(AuditEventRow, RuntimeBase, table=True):
    """Table ``audit_events``."""

    __tablename__ = "audit_events"
    __table_args__ = (
        parent("tenant"),
        # Filters of the audit list, newest first (the list index covers the rest).
        Index(None, "tenant_id", "action", "created_at"),
        Index(None, "tenant_id", "principal", "created_at"),
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
            None,
            "tenant_id",
            "project_id",
            "conversation_id",
            "context_config_id",
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


# ---------------------------------------------------------------------- run records

RunStatus = Literal["queued", "running", "paused", "completed", "failed", "cancelled"]
# Statuses a run can still leave; the others are final.
OPEN_RUN_STATUSES: tuple[str, ...] = ("queued", "running", "paused")
StepStatus = Literal["running", "completed", "skipped", "failed"]
ToolKind = Literal["mcp", "function", "external_agent", "transfer", "delegate"]
ToolCallStatus = Literal["running", "completed", "failed"]
CreditType = Literal["free", "referral", "purchase", "admin", "organization"]


class AgentRunRow(Timestamps, Identified, ProjectKey):
    """One run of an agent; child runs (delegations, sub-agents) hang off a parent.

    ``ancestors`` (root..parent), ``root_run_id`` and ``depth`` are derived from the
    parent when the run starts (``start_run``); the amounts are filled when it finishes.
    """

    agent_id: str = reference_field(required=True)
    sub_agent_id: str | None = reference_field()
    conversation_id: str | None = reference_field()
    ref: ResolvedRef | None = json_field()
    parent_run_id: str | None = reference_field(immutable=True)
    ancestors: list[str] = Field(
        default_factory=list,
        sa_type=JSONContent,
        sa_column_kwargs={"info": {SERVER_GENERATED: True}},
    )
    root_run_id: str = string_field(ID_MAX_LENGTH, default="", server_generated=True)
    depth: int = count_field(server_generated=True)
    status: RunStatus = string_field(16, default="queued")
    started_at: datetime | None = timestamp_field()
    finished_at: datetime | None = timestamp_field()
    duration_ms: int | None = count_field(default=None)
    heartbeat_at: datetime | None = timestamp_field()
    error: RunError | None = json_field()
    # Direct amounts are the run's own LLM calls; subtree totals add every descendant
    # that has finished. Both are written by finish_run (and the stuck-run sweep).
    cost: Amount = amount_field(server_generated=True)
    credits: Amount = amount_field(server_generated=True)
    subtree_cost: Amount = amount_field(server_generated=True)
    subtree_credits: Amount = amount_field(server_generated=True)


class AgentRun(AgentRunRow, RuntimeBase, table=True):
    """Table ``agent_runs``."""

    __tablename__ = "agent_runs"
    __table_args__ = (
        parent("project"),
        # Deleting a run deletes its descendants.
        reference("agent_runs", "parent_run_id"),
        Index(None, "tenant_id", "project_id", "root_run_id"),
        Index(None, "tenant_id", "project_id", "parent_run_id"),
        # The stuck-run sweep looks for running runs by heartbeat, across tenants.
        Index("ix_agent_runs_status_heartbeat", "status", "heartbeat_at"),
    )


class AgentStepRow(Timestamps, Identified, ProjectKey):
    """One step of a run (an LLM turn with its tool calls)."""

    run_id: str = reference_field(required=True, immutable=True)
    step_number: int = Field(ge=1, le=1_000_000, sa_column_kwargs={"info": {IMMUTABLE: True}})
    status: StepStatus = string_field(16, default="running")
    child_run_ids: list[str] = json_field(default_factory=list)
    credits: Amount = amount_field()
    started_at: datetime | None = timestamp_field()
    finished_at: datetime | None = timestamp_field()


class AgentStep(AgentStepRow, RuntimeBase, table=True):
    """Table ``agent_steps``."""

    __tablename__ = "agent_steps"
    __table_args__ = (
        parent("project"),
        reference("agent_runs", "run_id"),
        UniqueConstraint("tenant_id", "project_id", "run_id", "step_number"),
    )


class LlmCallRow(Timestamps, Identified, ProjectKey):
    """One call of a language model: tokens of every kind, exact cost, credits, timing."""

    run_id: str = reference_field(required=True, immutable=True)
    step_id: str | None = reference_field(immutable=True)
    provider: str = string_field(128, default=...)
    model: str = string_field(256, default=...)
    input_tokens: int = count_field()
    cache_write_tokens: int = count_field()
    cache_read_tokens: int = count_field()
    reasoning_tokens: int = count_field()
    output_tokens: int = count_field()
    cost: Amount = amount_field(ge=0)
    credits: Amount = amount_field(ge=0)
    byok: bool = Field(default=False)
    latency_ms: int | None = count_field(default=None)
    ttft_ms: int | None = count_field(default=None)
    # Kept only when the project's retention settings say so (record_llm_call).
    request_body: JsonObject | list[object] | str | None = json_field()
    response_body: JsonObject | list[object] | str | None = json_field()


class LlmCall(LlmCallRow, RuntimeBase, table=True):
    """Table ``llm_calls``."""

    __tablename__ = "llm_calls"
    __table_args__ = (
        parent("project"),
        reference("agent_runs", "run_id"),
        reference("agent_steps", "step_id"),
        Index(None, "tenant_id", "project_id", "run_id"),
        # Usage over a time range of the whole tenant (per project: the list index).
        Index(None, "tenant_id", "created_at"),
    )


class ToolCallRow(Timestamps, Identified, ProjectKey):
    """One tool call of a run; ``parent_call_id`` nests the calls a call made."""

    run_id: str = reference_field(required=True, immutable=True)
    step_id: str | None = reference_field(immutable=True)
    parent_call_id: str | None = reference_field(immutable=True)
    kind: ToolKind = string_field(32, default=...)
    name: str = string_field(256, default=...)
    # Capped by record_tool_call (TOOL_PAYLOAD_MAX_BYTES) before they are stored.
    input: ToolPayload = json_field()
    output: ToolPayload = json_field()
    status: ToolCallStatus = string_field(16, default="completed")
    error: RunError | None = json_field()
    duration_ms: int | None = count_field(default=None)


class ToolCall(ToolCallRow, RuntimeBase, table=True):
    """Table ``tool_calls``."""

    __tablename__ = "tool_calls"
    __table_args__ = (
        parent("project"),
        reference("agent_runs", "run_id"),
        reference("agent_steps", "step_id"),
        reference("tool_calls", "parent_call_id"),
        Index(None, "tenant_id", "project_id", "run_id"),
    )


class CreditGrantRow(Timestamps, Identified, TenantKey):
    """Credits granted to a principal: the tenant (no project) or one of its projects.

    ``remaining`` goes negative when consumption outruns the grants: that is debt,
    repaid first by the next grant (``data_access.runtime.credits``).
    """

    operation_id: str = string_field(256, default=...)
    project_id: str | None = reference_field(immutable=True)
    amount: Amount = amount_field(ge=0)
    remaining: Amount = amount_field()
    type: CreditType = string_field(16, default="purchase")
    # Lower is consumed first.
    priority: int = Field(default=100, ge=0, le=1_000_000)
    expires_at: datetime | None = timestamp_field()


class CreditGrant(CreditGrantRow, RuntimeBase, table=True):
    """Table ``credit_grants``."""

    __tablename__ = "credit_grants"
    __table_args__ = (
        parent("tenant"),
        reference("project_metadata", "project_id", within="tenant"),
        UniqueConstraint("tenant_id", "operation_id"),
        # A principal's grants: the tenant's own (no project) or one project's.
        Index("ix_credit_grants_principal", "tenant_id", "project_id"),
    )


class CreditLedgerEntryRow(Timestamps, Identified, TenantKey):
    """One credit operation (a grant or a consumption), once per ``operation_id``."""

    operation_id: str = string_field(256, default=...)
    kind: Literal["grant", "consume"] = string_field(16, default=...)
    project_id: str | None = reference_field()
    amount: Amount = amount_field(ge=0)
    # A grant: the debt it repaid; a consumption: the shortfall it left as debt.
    debt: Amount = amount_field(ge=0)
    allocations: list[LedgerAllocation] = json_field(default_factory=list)
    properties: JsonObject | None = json_field()


class CreditLedgerEntry(CreditLedgerEntryRow, RuntimeBase, table=True):
    """Table ``credit_ledger``."""

    __tablename__ = "credit_ledger"
    __table_args__ = (
        parent("tenant"),
        reference("project_metadata", "project_id", within="tenant"),
        UniqueConstraint("tenant_id", "operation_id"),
    )


add_list_order_indexes(RuntimeBase)
