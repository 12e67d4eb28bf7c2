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

TOOLS: Entity[ToolRow] = Entity(Tool, label="tool", plural="tools", path="tools")
get_tool = TOOLS.get
list_tools = TOOLS.list
create_tool = TOOLS.create
update_tool = TOOLS.update
upsert_tool = TOOLS.upsert
delete_tool = TOOLS.delete

FUNCTIONS: Entity[FunctionRow] = Entity(
    Function,
    label="function",
    plural="functions",
    path="functions",
)
get_function = FUNCTIONS.get
list_functions = FUNCTIONS.list
create_function = FUNCTIONS.create
update_function = FUNCTIONS.update
upsert_function = FUNCTIONS.upsert
delete_function = FUNCTIONS.delete

FUNCTION_TOOLS: Entity[FunctionToolRow] = Entity(
    FunctionTool,
    label="function_tool",
    plural="function_tools",
    path="function-tools",
)
get_function_tool = FUNCTION_TOOLS.get
list_function_tools = FUNCTION_TOOLS.list
create_function_tool = FUNCTION_TOOLS.create
update_function_tool = FUNCTION_TOOLS.update
upsert_function_tool = FUNCTION_TOOLS.upsert
delete_function_tool = FUNCTION_TOOLS.delete

EXTERNAL_AGENTS: Entity[ExternalAgentRow] = Entity(
    ExternalAgent,
    label="external_agent",
    plural="external_agents",
    path="external-agents",
)
get_external_agent = EXTERNAL_AGENTS.get
list_external_agents = EXTERNAL_AGENTS.list
create_external_agent = EXTERNAL_AGENTS.create
update_external_agent = EXTERNAL_AGENTS.update
upsert_external_agent = EXTERNAL_AGENTS.upsert
delete_external_agent = EXTERNAL_AGENTS.delete
