"""Typed content of JSON columns (stored as JSONB on PostgreSQL, JSON on SQLite)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pydantic_core
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from agentfold_core.amounts import Amount

JsonSchema = dict[str, Any]
JsonObject = dict[str, Any]
Headers = dict[str, str]


class Content(BaseModel):
    """Base of JSON column content: unknown keys are rejected.

    A field with an alias (``ToolOverride.schema``) is stored under its alias, the name
    callers write, so that what is stored validates again when read back. Non-finite
    floats encode as ``NaN``/``Infinity`` (not ``null``), as they would be stored, so
    the JSON bounds (``db/limits.py``) see and refuse them.
    """

    model_config = ConfigDict(
        extra="forbid",
        serialize_by_alias=True,
        validate_by_name=True,
        ser_json_inf_nan="constants",
    )


class ModelSetting(Content):
    """One model choice with provider options."""

    model: str = Field(min_length=1, max_length=256)
    provider_options: JsonObject | None = None


class ModelSettings(Content):
    """Default models of a project, agent or sub-agent."""

    base: ModelSetting | None = None
    structured_output: ModelSetting | None = None
    summarizer: ModelSetting | None = None


class StopWhen(Content):
    """When an agent loop stops."""

    transfer_count_is: int | None = Field(default=None, ge=1, le=1000)
    step_count_is: int | None = Field(default=None, ge=1, le=1000)


class StatusUpdates(Content):
    """Progress updates an agent emits while it works."""

    enabled: bool = False
    num_events: int | None = Field(default=None, ge=1)
    time_in_seconds: int | None = Field(default=None, ge=1)
    prompt: str | None = Field(default=None, max_length=10_000)


class ConversationHistoryConfig(Content):
    """How much conversation history a sub-agent sees."""

    mode: Literal["full", "scoped", "none"] = "full"
    limit: int | None = Field(default=None, ge=1)
    max_output_tokens: int | None = Field(default=None, ge=1)
    include_internal: bool = False


class FetchConfig(Content):
    """An HTTP request whose response fills a context variable."""

    url: str = Field(min_length=1, max_length=2048)
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    headers: Headers | None = None
    body: JsonObject | None = None
    transform: str | None = None
    timeout_ms: int | None = Field(default=None, ge=1, le=600_000)


class ContextVariable(Content):
    """A named value fetched at initialization or per invocation."""

    id: str = Field(min_length=1, max_length=256)
    name: str | None = None
    trigger: Literal["initialization", "invocation"] = "initialization"
    fetch_config: FetchConfig
    response_schema: JsonSchema | None = None
    default_value: Any = None


class McpServer(Content):
    """Where an MCP server listens."""

    url: str = Field(min_length=1, max_length=2048)


class McpTransport(Content):
    """How to talk to an MCP server."""

    type: Literal["streamable_http", "sse"] = "streamable_http"
    request_init: JsonObject | None = None


class ToolOverride(Content):
    """Changes to how one MCP tool is presented."""

    display_name: str | None = None
    description: str | None = None
    schema_override: JsonSchema | None = Field(default=None, alias="schema")


class McpConfig(Content):
    """An MCP server with the tools it exposes."""

    server: McpServer
    transport: McpTransport = Field(default_factory=McpTransport)
    timeout_ms: int | None = Field(default=None, ge=1, le=600_000)
    active_tools: list[str] | None = None
    tool_overrides: dict[str, ToolOverride] | None = None


class ToolConfig(Content):
    """Configuration of a tool (MCP server)."""

    type: Literal["mcp"] = "mcp"
    mcp: McpConfig


class ToolPolicy(Content):
    """Per-tool rules for a sub-agent."""

    needs_approval: bool = False


ToolPolicies = dict[str, ToolPolicy]


class ComponentRender(Content):
    """How a data or artifact component is rendered."""

    component: str = Field(max_length=200_000)
    mock_data: JsonObject | None = None


class OutputTransform(Content):
    """How a webhook payload becomes the agent's input."""

    jmespath: str | None = Field(default=None, max_length=10_000)
    object_transformation: dict[str, str] | None = None


class HashedHeader(Content):
    """A header a webhook caller must send; only its hash is stored."""

    name: str = Field(min_length=1, max_length=256)
    value_hash: str = Field(min_length=1, max_length=512)
    value_prefix: str | None = Field(default=None, max_length=16)


class TriggerAuthentication(Content):
    """Header-based authentication of a webhook trigger."""

    headers: list[HashedHeader] = Field(default_factory=list)


class SignatureVerification(Content):
    """HMAC signature checking of webhook requests."""

    algorithm: Literal["sha256", "sha512", "sha1"] = "sha256"
    encoding: Literal["hex", "base64"] = "hex"
    signature_header: str = Field(min_length=1, max_length=256)
    prefix: str | None = Field(default=None, max_length=64)
    timestamp_header: str | None = Field(default=None, max_length=256)
    tolerance_seconds: int | None = Field(default=None, ge=1)


class ResolvedRef(Content):
    """The exact configuration a runtime row ran against."""

    branch: str
    commit: str | None = None


class MessagePart(BaseModel):
    """One part of a message (text, data or file); kinds beyond these pass through."""

    model_config = ConfigDict(extra="allow", ser_json_inf_nan="constants")

    kind: Literal["text", "data", "file"]
    text: str | None = None
    data: Any = None


class MessageContent(Content):
    """The content of a message: text and/or parts."""

    text: str | None = None
    parts: list[MessagePart] | None = None


class RunFieldError(Content):
    """One failing field of a run's structured error."""

    field: str = Field(max_length=1024)
    message: str = Field(max_length=10_000)
    type: str = Field(default="invalid", max_length=256)


class RunError(Content):
    """Why a run (or a tool call) failed: a stable code, a message, failing fields."""

    code: str = Field(min_length=1, max_length=256)
    message: str = Field(max_length=10_000)
    field_errors: list[RunFieldError] | None = None


class LedgerAllocation(Content):
    """The change one credit operation made to one grant's remaining balance
    (negative: drawn by a consumption; positive: debt repaid by a grant)."""

    grant_id: str = Field(max_length=255)
    amount: Amount


# Tool inputs and outputs are traces, not storage: a larger value is kept as a preview.
TOOL_PAYLOAD_MAX_BYTES = 64 * 1024

ToolPayloadValue = JsonObject | list[Any] | str | int | float | bool | None


def cap_tool_payload(value: ToolPayloadValue) -> ToolPayloadValue:
    """``value``, or a marked preview of its JSON text when that exceeds the cap."""
    if value is None:
        return None
    encoded = pydantic_core.to_json(value)
    if len(encoded) <= TOOL_PAYLOAD_MAX_BYTES:
        return value
    # Cut on a character boundary, leaving room for the wrapper.
    preview = encoded[: TOOL_PAYLOAD_MAX_BYTES - 256].decode("utf-8", errors="ignore")
    return {"truncated": True, "bytes": len(encoded), "preview": preview}


ToolPayload = Annotated[ToolPayloadValue, AfterValidator(cap_tool_payload)]
