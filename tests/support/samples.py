"""Valid sample input for every table, and the parent rows ("nodes") samples need.

``SAMPLES`` has one entry per table name. The generic entity tests fail for a table
without an entry, so a new table cannot slip through untested: add its sample here.

A payload value may be a ``Slot``: it is filled from the test's context (the project,
agent or sub-agent id of the scope the row is created in).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Slot(Enum):
    """A payload value taken from the context the row is created in."""

    PROJECT = "project"
    AGENT = "agent"
    SUB_AGENT = "sub_agent"


Payload = Mapping[str, Any]

# Fixed ids of parent rows.
AGENT = "agent-1"
OTHER_AGENT = "agent-2"
SUB_AGENT = "sub-1"
OTHER_SUB_AGENT = "sub-2"
PEER_AGENT = "peer-agent"
PEER_SUB_AGENT = "peer-sub"
CREDENTIAL = "cred-1"
TOOL = "tool-1"
FUNCTION = "fn-1"
FUNCTION_TOOL = "fn-tool-1"
EXTERNAL_AGENT = "ext-1"
DATA_COMPONENT = "dc-1"
ARTIFACT_COMPONENT = "ac-1"
SKILL = "skill-1"
CONVERSATION = "conv-1"
MESSAGE = "msg-1"
TASK = "task-1"
PEER_TASK = "task-2"
OTHER_BRANCH = "other"
RUN = "run-1"
CHILD_RUN = "run-2"
STEP = "step-1"
TOOL_CALL = "tool-call-1"
NESTED_TOOL_CALL = "tool-call-2"

MCP_CONFIG = {"type": "mcp", "mcp": {"server": {"url": "https://mcp.example.com/x"}}}


@dataclass(frozen=True)
class Node:
    """A parent row: which table, what payload, which other nodes it needs."""

    table: str
    payload: Payload
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sample:
    """Valid input of one table.

    ``update`` changes at least one field (empty only where the table has no updatable
    field); ``needs`` names the nodes that must exist first (the scope's own parent,
    project / agent / sub-agent, is implied); ``secret`` holds columns the public
    ``create_*`` cannot take (server-generated secrets set by the owning module).
    """

    create: Payload
    update: Payload
    needs: tuple[str, ...] = ()
    secret: Payload = field(default_factory=dict)


# "tenant" and "project" are built specially: a runtime tenant row; a project created
# with ``create_project`` (both databases), plus its row on the context's branch.
NODES: dict[str, Node] = {
    "agent": Node("agents", {"id": Slot.AGENT, "name": "Agent"}),
    "peer_agent": Node("agents", {"id": PEER_AGENT, "name": "Peer agent"}),
    "sub_agent": Node("sub_agents", {"id": Slot.SUB_AGENT, "name": "Sub-agent"}),
    "peer_sub_agent": Node("sub_agents", {"id": PEER_SUB_AGENT, "name": "Peer sub-agent"}),
    "credential_reference": Node(
        "credential_references", {"id": CREDENTIAL, "name": "Credential", "type": "memory"}
    ),
    "tool": Node("tools", {"id": TOOL, "name": "Tool", "config": MCP_CONFIG}),
    "function": Node(
        "functions",
        {"id": FUNCTION, "input_schema": {"type": "object"}, "execute_code": "return 1"},
    ),
    "function_tool": Node(
        "function_tools",
        {"id": FUNCTION_TOOL, "name": "Function tool", "function_id": FUNCTION},
        needs=("function",),
    ),
    "external_agent": Node(
        "external_agents",
        {"id": EXTERNAL_AGENT, "name": "External", "base_url": "https://a2a.example.com"},
    ),
    "data_component": Node("data_components", {"id": DATA_COMPONENT, "name": "Data"}),
    "artifact_component": Node(
        "artifact_components", {"id": ARTIFACT_COMPONENT, "name": "Artifact"}
    ),
    "skill": Node("skills", {"id": SKILL, "description": "A skill", "content": "Do it."}),
    "conversation": Node("conversations", {"id": CONVERSATION, "agent_id": Slot.AGENT}),
    "message": Node(
        "messages",
        {
            "id": MESSAGE,
            "conversation_id": CONVERSATION,
            "role": "user",
            "content": {"text": "hello"},
        },
        needs=("conversation",),
    ),
    "task": Node("tasks", {"id": TASK, "agent_id": Slot.AGENT, "sub_agent_id": SUB_AGENT}),
    "peer_task": Node(
        "tasks", {"id": PEER_TASK, "agent_id": Slot.AGENT, "sub_agent_id": PEER_SUB_AGENT}
    ),
    "run": Node("agent_runs", {"id": RUN, "agent_id": Slot.AGENT}),
    "child_run": Node(
        "agent_runs",
        {"id": CHILD_RUN, "agent_id": Slot.AGENT, "parent_run_id": RUN},
        needs=("run",),
    ),
    "step": Node("agent_steps", {"id": STEP, "run_id": RUN, "step_number": 1}, needs=("run",)),
    "tool_call": Node(
        "tool_calls",
        {"id": TOOL_CALL, "run_id": RUN, "kind": "mcp", "name": "outer"},
        needs=("run",),
    ),
    "nested_tool_call": Node(
        "tool_calls",
        {
            "id": NESTED_TOOL_CALL,
            "run_id": RUN,
            "kind": "function",
            "name": "inner",
            "parent_call_id": TOOL_CALL,
        },
        needs=("tool_call",),
    ),
}

SAMPLES: dict[str, Sample] = {
    # ------------------------------------------------------------------ manage
    "projects": Sample(
        create={
            "name": "Sample project",
            "description": "A project",
            "models": {"base": {"model": "gpt-4.1"}},
            "stop_when": {"transfer_count_is": 4},
        },
        update={"name": "Renamed project", "stop_when": {"step_count_is": 9}},
    ),
    "agents": Sample(
        create={
            "id": "sample-agent",
            "name": "Sample agent",
            "description": "Triage",
            "prompt": "Route the request.",
            "models": {"base": {"model": "gpt-4.1"}},
            "stop_when": {"transfer_count_is": 3},
            "status_updates": {"enabled": True, "num_events": 2},
            "execution_mode": "durable",
        },
        update={"prompt": "Route it faster.", "execution_mode": "classic"},
    ),
    "sub_agents": Sample(
        create={
            "id": "sample-sub",
            "name": "Sample sub-agent",
            "prompt": "Answer.",
            "conversation_history_config": {"mode": "scoped", "limit": 5},
            "output_contract": {"type": "object"},
        },
        update={"name": "Renamed sub-agent", "conversation_history_config": {"mode": "none"}},
    ),
    "sub_agent_relations": Sample(
        create={
            "source_sub_agent_id": Slot.SUB_AGENT,
            "target_sub_agent_id": PEER_SUB_AGENT,
            "relation_type": "delegate",
        },
        update={},  # every field is part of the natural key
        needs=("sub_agent", "peer_sub_agent"),
    ),
    "context_configs": Sample(
        create={
            "id": "sample-context",
            "headers_schema": {"type": "object"},
            "context_variables": {
                "user": {"id": "user", "fetch_config": {"url": "https://api.example.com/me"}}
            },
        },
        update={"headers_schema": {"type": "object", "required": ["x-user"]}},
    ),
    "credential_references": Sample(
        create={
            "id": "sample-cred",
            "name": "Sample credential",
            "type": "env",
            "credential_store_id": "env",
            "retrieval_params": {"key": "API_TOKEN"},
            "user_id": "user-1",
        },
        update={"name": "Renamed credential", "retrieval_params": {"key": "OTHER"}},
    ),
    "tools": Sample(
        create={
            "id": "sample-tool",
            "name": "Sample tool",
            "config": {
                "type": "mcp",
                "mcp": {
                    "server": {"url": "https://mcp.example.com/tickets"},
                    "transport": {"type": "sse"},
                    "active_tools": ["search"],
                },
            },
            "headers": {"x-team": "support"},
            "credential_reference_id": CREDENTIAL,
            "capabilities": {"tools": True},
        },
        update={"last_error": "connection refused", "headers": {"x-team": "sales"}},
        needs=("credential_reference",),
    ),
    "functions": Sample(
        create={
            "id": "sample-function",
            "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
            "execute_code": "return q.upper()",
            "dependencies": {"requests": "2.32"},
        },
        update={"execute_code": "return q.lower()"},
    ),
    "function_tools": Sample(
        create={"id": "sample-function-tool", "name": "Upper", "function_id": FUNCTION},
        update={"name": "Lower", "description": "Lower-cases"},
        needs=("function",),
    ),
    "sub_agent_tool_relations": Sample(
        create={
            "tool_id": TOOL,
            "selected_tools": ["search"],
            "headers": {"x-a": "1"},
            "tool_policies": {"search": {"needs_approval": True}},
        },
        update={"selected_tools": ["search", "create"]},
        needs=("tool",),
    ),
    "sub_agent_function_tool_relations": Sample(
        create={"function_tool_id": FUNCTION_TOOL, "tool_policies": {"run": {}}},
        update={"tool_policies": {"run": {"needs_approval": True}}},
        needs=("function_tool",),
    ),
    "external_agents": Sample(
        create={
            "id": "sample-external",
            "name": "Sample external agent",
            "base_url": "https://a2a.example.com/agent",
            "credential_reference_id": CREDENTIAL,
        },
        update={"base_url": "https://a2a.example.com/v2"},
        needs=("credential_reference",),
    ),
    "sub_agent_external_agent_relations": Sample(
        create={"external_agent_id": EXTERNAL_AGENT, "headers": {"x-a": "1"}},
        update={"headers": {"x-a": "2"}},
        needs=("external_agent",),
    ),
    "sub_agent_team_agent_relations": Sample(
        create={"target_agent_id": PEER_AGENT, "headers": {"x-a": "1"}},
        update={"headers": {"x-b": "2"}},
        needs=("peer_agent",),
    ),
    "data_components": Sample(
        create={
            "id": "sample-data",
            "name": "Order",
            "props": {"type": "object"},
            "render": {"component": "<Order/>", "mock_data": {"id": 1}},
        },
        update={"render": {"component": "<OrderV2/>"}},
    ),
    "artifact_components": Sample(
        create={"id": "sample-artifact", "name": "Report", "props": {"type": "object"}},
        update={"description": "A report"},
    ),
    "sub_agent_data_components": Sample(
        create={"data_component_id": DATA_COMPONENT},
        update={},  # only the natural key
        needs=("data_component",),
    ),
    "sub_agent_artifact_components": Sample(
        create={"artifact_component_id": ARTIFACT_COMPONENT},
        update={},  # only the natural key
        needs=("artifact_component",),
    ),
    "skills": Sample(
        create={
            "id": "sample-skill",
            "description": "How to greet",
            "content": "Say hello.",
            "properties": {"lang": "en"},
        },
        update={"content": "Say hi."},
    ),
    "skill_files": Sample(
        create={"skill_id": SKILL, "path": "examples/greeting.md", "content": "Hello!"},
        update={"content": "Hi!"},
        needs=("skill",),
    ),
    "sub_agent_skills": Sample(
        create={"skill_id": SKILL, "index": 1, "always_loaded": True},
        update={"index": 2, "always_loaded": False},
        needs=("skill",),
    ),
    "triggers": Sample(
        create={
            "id": "sample-trigger",
            "name": "Sample trigger",
            "input_schema": {"type": "object"},
            "output_transform": {"jmespath": "body.text"},
            "message_template": "New ticket: {{text}}",
            "authentication": {"headers": [{"name": "x-key", "value_hash": "abc123"}]},
            "signature_verification": {"signature_header": "x-signature"},
            "signing_secret_credential_reference_id": CREDENTIAL,
        },
        update={"enabled": False, "message_template": "Ticket: {{text}}"},
        needs=("credential_reference",),
    ),
    # ------------------------------------------------------------------ runtime
    "tenants": Sample(create={"name": "Sample tenant"}, update={"name": "Renamed tenant"}),
    "project_metadata": Sample(
        create={"main_branch_name": "main", "created_by": "alice"},
        update={"created_by": "bob", "retention_run_days": 30, "store_llm_bodies": True},
        needs=("tenant",),
    ),
    "api_keys": Sample(
        create={
            "id": "sample-key",
            "name": "CI key",
            "project_id": Slot.PROJECT,
            "agent_id": AGENT,
            "role": "runner",
        },
        # A runner bound to an agent: the only role that fits this binding.
        update={"name": "Renamed key"},
        needs=("project",),
        # Generated by issue_api_key; set directly so rows have known values.
        secret={
            "public_id": "pub0123456789",
            "key_prefix": "af_pub01",
            "key_hash": "scrypt$16384$8$1$c2FsdA$aGFzaA",
        },
    ),
    "credential_secrets": Sample(
        create={"id": "sample-secret"},
        # Nothing of a stored secret is updated in place: the store replaces it whole.
        update={},
        # Sealed by the encrypted credential store; set directly so rows have known values.
        secret={
            "scheme": "aes-256-gcm-v1",
            "key_id": "sample-key",
            "version": 1,
            "wrapped_key": "d3JhcHBlZA==",
            "wrap_nonce": "bm9uY2Ux",
            "nonce": "bm9uY2Uy",
            "ciphertext": "Y2lwaGVydGV4dA==",
        },
    ),
    "conversations": Sample(
        create={
            "id": "sample-conversation",
            "agent_id": Slot.AGENT,
            "active_sub_agent_id": SUB_AGENT,
            "ref": {"branch": "main", "commit": "abc"},
            "title": "Refund",
            "properties": {"channel": "web"},
        },
        update={"title": "Refund, again", "active_sub_agent_id": PEER_SUB_AGENT},
    ),
    "messages": Sample(
        create={
            "id": "sample-message",
            "conversation_id": CONVERSATION,
            "role": "agent",
            "from_sub_agent_id": SUB_AGENT,
            "content": {"text": "hi", "parts": [{"kind": "text", "text": "hi"}]},
            "message_type": "a2a-request",
        },
        update={"visibility": "internal"},
        needs=("conversation",),
    ),
    "tasks": Sample(
        create={
            "id": "sample-task",
            "agent_id": Slot.AGENT,
            "sub_agent_id": SUB_AGENT,
            "context_id": "ctx-1",
            "status": "working",
            "ref": {"branch": "main"},
        },
        update={"status": "completed"},
    ),
    "task_relations": Sample(
        create={"id": "sample-task-relation", "parent_task_id": TASK, "child_task_id": PEER_TASK},
        update={"relation_type": "delegation"},
        needs=("task", "peer_task"),
    ),
    "ledger_artifacts": Sample(
        create={
            "id": "sample-artifact",
            "task_id": TASK,
            "name": "Summary",
            "parts": [{"kind": "data", "data": {"total": 3}}],
        },
        update={"description": "Final summary"},
        needs=("task",),
    ),
    "context_cache": Sample(
        create={
            "id": "sample-cache",
            "conversation_id": CONVERSATION,
            "context_config_id": "ctx-config",
            "context_variable_key": "user",
            "value": {"name": "Ada"},
            "request_hash": "h1",
        },
        update={"value": ["a", 1], "request_hash": "h2"},
        needs=("conversation",),
    ),
    "events": Sample(
        create={
            "id": "sample-event",
            "conversation_id": CONVERSATION,
            "type": "tool_call",
            "payload": {"tool": "search"},
        },
        update={"payload": {"tool": "create"}},
        needs=("conversation",),
    ),
    "feedback": Sample(
        create={
            "id": "sample-feedback",
            "conversation_id": CONVERSATION,
            "message_id": MESSAGE,
            "kind": "positive",
        },
        update={"kind": "negative", "comment": "Wrong answer"},
        needs=("message",),
    ),
    "trigger_invocations": Sample(
        create={
            "id": "sample-invocation",
            "trigger_id": "webhook-1",
            "status": "success",
            "request_payload": {"body": {"text": "hi"}},
            "ref": {"branch": "main"},
        },
        update={"status": "failed", "error_message": "timeout"},
    ),
    "agent_runs": Sample(
        create={
            "id": "sample-run",
            "agent_id": Slot.AGENT,
            "sub_agent_id": SUB_AGENT,
            "conversation_id": CONVERSATION,
            "ref": {"branch": "main", "commit": "abc"},
            "status": "running",
            "started_at": "2026-01-01T10:00:00+00:00",
            "heartbeat_at": "2026-01-01T10:00:05+00:00",
        },
        update={"status": "paused"},
    ),
    "agent_steps": Sample(
        create={
            "id": "sample-step",
            "run_id": RUN,
            "step_number": 2,
            "child_run_ids": [CHILD_RUN],
            "credits": "1.25",
            "started_at": "2026-01-01T10:00:01+00:00",
        },
        update={"status": "completed", "credits": "2.5"},
        # A step that spawned a child run and made nested tool calls.
        needs=("run", "child_run", "nested_tool_call"),
    ),
    "llm_calls": Sample(
        create={
            "id": "sample-llm-call",
            "run_id": RUN,
            "step_id": STEP,
            "provider": "openai",
            "model": "gpt-4.1",
            "input_tokens": 1200,
            "cache_write_tokens": 100,
            "cache_read_tokens": 800,
            "reasoning_tokens": 64,
            "output_tokens": 300,
            "cost": "0.004812345",
            "credits": "4.8",
            "byok": True,
            "latency_ms": 950,
            "ttft_ms": 210,
        },
        update={"latency_ms": 990},
        needs=("step",),
    ),
    "tool_calls": Sample(
        create={
            "id": "sample-tool-call",
            "run_id": RUN,
            "step_id": STEP,
            "kind": "mcp",
            "name": "search",
            "input": {"query": "refund"},
            "status": "running",
        },
        update={"status": "completed", "output": {"hits": 3}, "duration_ms": 42},
        needs=("step",),
    ),
    "credit_grants": Sample(
        create={
            "id": "sample-grant",
            "operation_id": "op-grant-1",
            "project_id": Slot.PROJECT,
            "amount": "100",
            "remaining": "100",
            "type": "purchase",
            "priority": 10,
            "expires_at": "2100-01-01T00:00:00+00:00",
        },
        update={"remaining": "40.5"},
        needs=("project",),
    ),
    "audit_events": Sample(
        create={
            "id": "sample-audit-event",
            "action": "api_key.created",
            "principal": "operator",
            "target_kind": "api_key",
            "target_id": "sample-key",
            "project_id": Slot.PROJECT,
            "client_address": "192.0.2.7",
            "user_agent": "sample-agent/1.0",
            "detail": {"role": "runner"},
        },
        # Never updated (append-only): the field is only here to validate the model.
        update={"detail": {"role": "viewer"}},
        needs=("project",),
    ),
    "credit_ledger": Sample(
        create={
            "id": "sample-ledger-entry",
            "operation_id": "op-consume-1",
            "kind": "consume",
            "project_id": Slot.PROJECT,
            "amount": "3",
            "allocations": [{"grant_id": "sample-grant", "amount": "-3"}],
        },
        update={"properties": {"run_id": "run-9"}},
        needs=("project",),
    ),
}
