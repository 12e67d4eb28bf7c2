"""URL prefixes by scope level: one place spells the manage tree."""

from __future__ import annotations

from agentfold_core.db.columns import ScopeLevel

TENANT = "/manage/tenants/{tenant_id:str}"
PROJECT = TENANT + "/projects/{project_id:str}"
AGENT = PROJECT + "/agents/{agent_id:str}"
SUB_AGENT = AGENT + "/sub-agents/{sub_agent_id:str}"

PREFIX: dict[ScopeLevel, str] = {
    ScopeLevel.TENANT: TENANT,
    ScopeLevel.PROJECT: PROJECT,
    ScopeLevel.AGENT: AGENT,
    ScopeLevel.SUB_AGENT: SUB_AGENT,
}
# The path ids each level's prefix names.
IDS: dict[ScopeLevel, tuple[str, ...]] = {
    ScopeLevel.TENANT: ("tenant_id",),
    ScopeLevel.PROJECT: ("tenant_id", "project_id"),
    ScopeLevel.AGENT: ("tenant_id", "project_id", "agent_id"),
    ScopeLevel.SUB_AGENT: ("tenant_id", "project_id", "agent_id", "sub_agent_id"),
}
