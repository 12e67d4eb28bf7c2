"""The tenant or project a manage-side route over runtime records names (run records,
usage, credits): answered as missing unless the caller reaches it and it exists."""

from __future__ import annotations

from typing import Any

from litestar import Request

from agentfold_api.context import principal, service
from agentfold_core.data_access.runtime.project_metadata import PROJECT_METADATA
from agentfold_core.data_access.runtime.tenants import TENANTS
from agentfold_core.errors import NotFound
from agentfold_core.scopes import ProjectScope, TenantScope


async def existing_scope(
    request: Request[Any, Any, Any], tenant_id: str, project_id: str | None = None
) -> TenantScope:
    """The tenant, or its project when ``project_id`` is given; 404 as if missing when
    the caller does not reach it, and when it does not exist."""
    principal(request).check_reach(tenant_id, project_id)
    runtime = service(request).runtime
    if project_id is None:
        tenant = TenantScope(tenant_id)
        if await TENANTS.get(runtime)(scopes=tenant) is None:
            raise NotFound("tenant not found", resource="tenant", key={"tenant_id": tenant_id})
        return tenant
    project = ProjectScope(tenant_id, project_id)
    if await PROJECT_METADATA.get(runtime)(scopes=project) is None:
        raise NotFound("project not found", resource="project", key={"project_id": project_id})
    return project


async def existing_project(
    request: Request[Any, Any, Any], tenant_id: str, project_id: str
) -> ProjectScope:
    """``existing_scope`` of a project."""
    scope = await existing_scope(request, tenant_id, project_id)
    if not isinstance(scope, ProjectScope):
        raise TypeError("a project route without a project scope")
    return scope
