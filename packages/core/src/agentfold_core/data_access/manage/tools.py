"""MCP tools, functions, function tools and external agents."""

from __future__ import annotations

from agentfold_core.data_access.crud import Entity
from agentfold_core.db.manage.schema import (
    ExternalAgent,
    ExternalAgentRow,
    Function,
    FunctionRow,
    FunctionTool,
    FunctionToolRow,
    Tool,
    ToolRow,
)

TOOLS: Entity[ToolRow] = Entity(Tool, label="tool")
get_tool, list_tools, create_tool, update_tool, upsert_tool, delete_tool = TOOLS.functions()

FUNCTIONS: Entity[FunctionRow] = Entity(Function, label="function")
(
    get_function,
    list_functions,
    create_function,
    update_function,
    upsert_function,
    delete_function,
) = FUNCTIONS.functions()

FUNCTION_TOOLS: Entity[FunctionToolRow] = Entity(FunctionTool, label="function_tool")
(
    get_function_tool,
    list_function_tools,
    create_function_tool,
    update_function_tool,
    upsert_function_tool,
    delete_function_tool,
) = FUNCTION_TOOLS.functions()

EXTERNAL_AGENTS: Entity[ExternalAgentRow] = Entity(ExternalAgent, label="external_agent")
(
    get_external_agent,
    list_external_agents,
    create_external_agent,
    update_external_agent,
    upsert_external_agent,
    delete_external_agent,
) = EXTERNAL_AGENTS.functions()
