"""URLs of the manage tree, built like the route factory builds them."""

from __future__ import annotations

from agentfold_core.data_access.registry import REGISTRY, Registered
from agentfold_core.db.columns import ScopeLevel
from tests.support.graph import Context


def prefix(level: ScopeLevel, ctx: Context) -> str:
    """The URL prefix of ``level`` in ``ctx``."""
    url = f"/manage/tenants/{ctx.tenant}"
    if level is ScopeLevel.TENANT:
        return url
    url += f"/projects/{ctx.project}"
    if level is ScopeLevel.PROJECT:
        return url
    url += f"/agents/{ctx.agent}"
    if level is ScopeLevel.AGENT:
        return url
    return url + f"/sub-agents/{ctx.sub_agent}"


def collection(entry: Registered, ctx: Context) -> str:
    """The collection URL of an entity."""
    return f"{prefix(entry.level, ctx)}/{entry.path}"


def manage_entries() -> list[Registered]:
    """Manage entities served by the generic routes (projects have their own)."""
    return [e for e in REGISTRY if e.database == "manage" and e.table != "projects"]
