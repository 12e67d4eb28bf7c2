"""A realistic project document: 3 agents, 8 sub-agents and every kind of entity."""

from __future__ import annotations

from typing import Any


def _sub_agent(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "description": f"{name} sub-agent",
        "prompt": f"You are the {name}.",
        "conversation_history_config": {"mode": "scoped", "limit": 20},
        **extra,
    }


def realistic_project(project_id: str) -> dict[str, Any]:
    """A project exercising every table of the manage database."""
    tool_policies = {"create_ticket": {"needs_approval": True}}
    return {
        "id": project_id,
        "name": "Customer support",
        "description": "Support desk agents",
        "models": {"base": {"model": "gpt-4.1"}, "summarizer": {"model": "gpt-4.1-mini"}},
        "stop_when": {"transfer_count_is": 5},
        "credential_references": {
            "zendesk-key": {
                "name": "Zendesk key",
                "type": "encrypted",
                "retrieval_params": {"key": "zd"},
            },
            "webhook-secret": {
                "name": "Webhook secret",
                "type": "env",
                "credential_store_id": "env",
            },
            "crm-token": {"name": "CRM token", "type": "memory"},
        },
        "tools": {
            "zendesk": {
                "name": "Zendesk MCP",
                "config": {
                    "type": "mcp",
                    "mcp": {
                        "server": {"url": "https://mcp.example.com/zendesk"},
                        "transport": {"type": "streamable_http"},
                        "active_tools": ["search_tickets", "create_ticket"],
                    },
                },
                "credential_reference_id": "zendesk-key",
                "headers": {"x-team": "support"},
            },
            "crm": {
                "name": "CRM MCP",
                "config": {"mcp": {"server": {"url": "https://mcp.example.com/crm"}}},
                "credential_reference_id": "crm-token",
            },
        },
        "functions": {
            "refund-calc": {
                "input_schema": {"type": "object", "properties": {"amount": {"type": "number"}}},
                "execute_code": "def run(amount):\n    return amount * 0.9\n",
                "dependencies": {"decimal": "*"},
            },
        },
        "external_agents": {
            "billing-partner": {
                "name": "Billing partner",
                "base_url": "https://a2a.partner.example.com",
                "credential_reference_id": "crm-token",
            },
        },
        "data_components": {
            "ticket-card": {
                "name": "Ticket card",
                "props": {"type": "object", "properties": {"id": {"type": "string"}}},
            },
        },
        "artifact_components": {
            "summary-doc": {
                "name": "Summary document",
                "props": {"type": "object"},
                "render": {"component": "<Summary/>", "mock_data": {"title": "x"}},
            },
        },
        "skills": {
            "tone-guide": {
                "description": "How we talk to customers",
                "content": "Be kind and precise.",
                "files": [
                    {"path": "examples/greeting.md", "content": "Hello!"},
                    {"path": "examples/closing.md", "content": "Bye!"},
                ],
            },
        },
        "agents": {
            "triage": {
                "name": "Triage",
                "default_sub_agent_id": "router",
                "context_config_id": "triage-context",
                "stop_when": {"step_count_is": 12},
                "sub_agents": {
                    "router": _sub_agent(
                        "router",
                        tools=[
                            {
                                "tool_id": "zendesk",
                                "selected_tools": ["search_tickets"],
                                "tool_policies": tool_policies,
                            }
                        ],
                        data_components=[{"data_component_id": "ticket-card"}],
                        skills=[{"skill_id": "tone-guide", "index": 0, "always_loaded": True}],
                    ),
                    "billing": _sub_agent(
                        "billing",
                        function_tools=[{"function_tool_id": "refund"}],
                        external_agents=[
                            {"external_agent_id": "billing-partner", "headers": {"x-tier": "gold"}}
                        ],
                    ),
                    "tech": _sub_agent(
                        "tech",
                        team_agents=[{"target_agent_id": "escalation"}],
                        artifact_components=[{"artifact_component_id": "summary-doc"}],
                    ),
                },
                "sub_agent_relations": [
                    {
                        "source_sub_agent_id": "router",
                        "target_sub_agent_id": "billing",
                        "relation_type": "transfer",
                    },
                    {
                        "source_sub_agent_id": "router",
                        "target_sub_agent_id": "tech",
                        "relation_type": "transfer",
                    },
                    {
                        "source_sub_agent_id": "tech",
                        "target_sub_agent_id": "billing",
                        "relation_type": "delegate",
                    },
                ],
                "context_configs": {
                    "triage-context": {
                        "headers_schema": {
                            "type": "object",
                            "properties": {"user_id": {"type": "string"}},
                        },
                        "context_variables": {
                            "customer": {
                                "id": "customer",
                                "trigger": "initialization",
                                "fetch_config": {"url": "https://crm.example.com/c/{{user_id}}"},
                            },
                        },
                    },
                },
                "function_tools": {
                    "refund": {"name": "Refund calculator", "function_id": "refund-calc"},
                },
                "triggers": {
                    "zendesk-webhook": {
                        "name": "New ticket",
                        "message_template": "New ticket: {{subject}}",
                        "input_schema": {"type": "object"},
                        "authentication": {"headers": [{"name": "x-key", "value_hash": "abc123"}]},
                        "signing_secret_credential_reference_id": "webhook-secret",
                    },
                },
            },
            "escalation": {
                "name": "Escalation",
                "default_sub_agent_id": "lead",
                "sub_agents": {
                    "lead": _sub_agent("lead", team_agents=[{"target_agent_id": "triage"}]),
                    "specialist": _sub_agent(
                        "specialist",
                        tools=[{"tool_id": "crm"}, {"tool_id": "zendesk"}],
                    ),
                },
                "sub_agent_relations": [
                    {
                        "source_sub_agent_id": "lead",
                        "target_sub_agent_id": "specialist",
                        "relation_type": "delegate",
                    },
                ],
            },
            "followup": {
                "name": "Follow-up",
                "default_sub_agent_id": "scheduler",
                "execution_mode": "durable",
                "sub_agents": {
                    "scheduler": _sub_agent("scheduler"),
                    "writer": _sub_agent(
                        "writer",
                        skills=[{"skill_id": "tone-guide", "index": 1}],
                        artifact_components=[{"artifact_component_id": "summary-doc"}],
                    ),
                    "survey": _sub_agent(
                        "survey", data_components=[{"data_component_id": "ticket-card"}]
                    ),
                },
                "sub_agent_relations": [
                    {
                        "source_sub_agent_id": "scheduler",
                        "target_sub_agent_id": "writer",
                        "relation_type": "transfer",
                    },
                    {
                        "source_sub_agent_id": "writer",
                        "target_sub_agent_id": "survey",
                        "relation_type": "transfer",
                    },
                ],
            },
        },
    }
