"""Tenants (operator) and their API keys (operator or the tenant's admin keys)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from litestar import Request, Response
from litestar.handlers import HTTPRouteHandler
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from pydantic import BaseModel, ConfigDict, Field

from agentfold_api.audit import audited
from agentfold_api.context import (
    PAGE_PARAMS,
    json_bytes,
    json_response,
    model_response,
    page_response,
    principal,
    service,
    tenant_scope,
)
from agentfold_api.routes.paths import TENANT
from agentfold_api.routing import Param, route
from agentfold_core.data_access.doors import Unit
from agentfold_core.data_access.runtime.api_keys import (
    IssuedApiKey,
    get_api_key,
    issue_api_key,
    list_api_keys,
    revoke_api_key,
)
from agentfold_core.data_access.runtime.audit_events import AuditAction, AuditRecord
from agentfold_core.data_access.runtime.tenants import TENANTS
from agentfold_core.db.runtime.schema import ApiKeyPublic
from agentfold_core.errors import Conflict, NotFound
from agentfold_core.pagination import Page
from agentfold_core.scopes import TenantScope

_TENANT_MODELS = TENANTS.models
_TENANT_FIELDS = set(_TENANT_MODELS.api_select.model_fields)
_TENANT_ID = [Param("tenant_id", str)]
_KEY_ID = [*_TENANT_ID, Param("api_key_id", str)]


class IssuedKey(ApiKeyPublic):
    """A new key with its secret: shown in this response only, never again."""

    key: str


class ApiKeyIssue(BaseModel):
    """What a new key is for: its role decides its binding."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=256)
    role: Literal["admin", "editor", "viewer", "runner"] = "runner"
    project_id: str | None = Field(default=None, max_length=255)
    agent_id: str | None = Field(default=None, max_length=255)
    expires_at: datetime | None = None


def _tenant_json(row: BaseModel) -> bytes:
    return json_bytes(row, _TENANT_FIELDS)


def _key_json(row: ApiKeyPublic) -> bytes:
    return json_bytes(row)


def _no_tenant(tenant_id: str) -> NotFound:
    return NotFound("tenant not found", resource="tenant", key={"tenant_id": tenant_id})


async def _create_tenant(request: Request[Any, Any, Any], *, data: BaseModel) -> Response[Any]:
    runtime = service(request).runtime
    values = data.model_dump()
    scope = TenantScope(values["id"])
    if await TENANTS.get(runtime)(scopes=scope) is not None:
        raise Conflict(
            "tenant already exists", resource="tenant", key={"tenant_id": scope.tenant_id}
        )
    row = await TENANTS.create(runtime)(scopes=scope, data={"name": values.get("name")})
    return json_response(
        _tenant_json(row),
        status_code=HTTP_201_CREATED,
        headers={"location": f"/manage/tenants/{row.id}"},
    )


async def _get_tenant(request: Request[Any, Any, Any], *, tenant_id: str) -> Response[Any]:
    scope = tenant_scope(principal(request), tenant_id)
    row = await TENANTS.get(service(request).runtime)(scopes=scope)
    if row is None:
        raise _no_tenant(tenant_id)
    return json_response(_tenant_json(row))


async def _update_tenant(
    request: Request[Any, Any, Any], *, tenant_id: str, data: BaseModel
) -> Response[Any]:
    scope = tenant_scope(principal(request), tenant_id)
    row = await TENANTS.update(service(request).runtime)(scopes=scope, data=data)
    if row is None:
        raise _no_tenant(tenant_id)
    return json_response(_tenant_json(row))


async def _delete_tenant(request: Request[Any, Any, Any], *, tenant_id: str) -> Response[Any]:
    scope = tenant_scope(principal(request), tenant_id)
    if not await TENANTS.delete(service(request).runtime)(scopes=scope):
        raise _no_tenant(tenant_id)
    return Response(None, status_code=HTTP_204_NO_CONTENT)


async def _issue_key(
    request: Request[Any, Any, Any], *, tenant_id: str, data: ApiKeyIssue
) -> Response[Any]:
    state = service(request)
    scope = tenant_scope(principal(request), tenant_id)
    if await TENANTS.get(state.runtime)(scopes=scope) is None:
        raise _no_tenant(tenant_id)

    async def issue(unit: Unit) -> IssuedApiKey:
        return await issue_api_key(unit)(scopes=scope, data=data.model_dump(exclude_unset=True))

    def created(issued: IssuedApiKey) -> AuditRecord:
        row = issued.row
        detail = {"role": row.role, "name": row.name, "agent_id": row.agent_id}
        return AuditRecord(
            AuditAction.API_KEY_CREATED,
            target_kind="api_key",
            target_id=row.id,
            project_id=row.project_id,
            detail={**detail, "expires_at": row.expires_at and row.expires_at.isoformat()},
        )

    issued = await audited(request, scope, issue, created)
    body = IssuedKey(**issued.row.model_dump(), key=issued.key)
    return model_response(
        body,
        status_code=HTTP_201_CREATED,
        headers={"location": f"/manage/tenants/{tenant_id}/api-keys/{issued.row.id}"},
    )


async def _list_keys(
    request: Request[Any, Any, Any], *, tenant_id: str, page: int, limit: int
) -> Response[Any]:
    scope = tenant_scope(principal(request), tenant_id)
    found = await list_api_keys(service(request).runtime)(scopes=scope, page=page, limit=limit)
    return page_response((_key_json(k) for k in found.data), found.pagination)


async def _get_key(
    request: Request[Any, Any, Any], *, tenant_id: str, api_key_id: str
) -> Response[Any]:
    scope = tenant_scope(principal(request), tenant_id)
    row = await get_api_key(service(request).runtime)(scopes=scope, api_key_id=api_key_id)
    if row is None:
        raise NotFound("api key not found", resource="api_key", key={"api_key_id": api_key_id})
    return json_response(_key_json(row))


async def _revoke_key(
    request: Request[Any, Any, Any], *, tenant_id: str, api_key_id: str
) -> Response[Any]:
    scope = tenant_scope(principal(request), tenant_id)

    async def revoke(unit: Unit) -> tuple[ApiKeyPublic | None, ApiKeyPublic]:
        before = await get_api_key(unit)(scopes=scope, api_key_id=api_key_id)
        return before, await revoke_api_key(unit)(scopes=scope, api_key_id=api_key_id)

    def revoked(rows: tuple[ApiKeyPublic | None, ApiKeyPublic]) -> AuditRecord | None:
        before, row = rows
        if before is not None and before.revoked_at is not None:
            return None  # revoked already: this request changed nothing
        return AuditRecord(
            AuditAction.API_KEY_REVOKED,
            target_kind="api_key",
            target_id=row.id,
            project_id=row.project_id,
            detail={"role": row.role, "name": row.name},
        )

    await audited(request, scope, revoke, revoked)
    return Response(None, status_code=HTTP_204_NO_CONTENT)


def tenant_handlers() -> list[HTTPRouteHandler]:
    """Tenant and API-key routes."""
    tenant_select = _TENANT_MODELS.api_select
    keys = f"{TENANT}/api-keys"
    return [
        route(
            "POST",
            "/manage/tenants",
            _create_tenant,
            operation_id="create_tenant",
            summary="Create a tenant",
            tag="tenants",
            access="operator",
            body=_TENANT_MODELS.api_insert,
            returns=tenant_select,
            status_code=HTTP_201_CREATED,
            errors=(409,),
        ),
        route(
            "GET",
            TENANT,
            _get_tenant,
            operation_id="get_tenant",
            summary="Get a tenant",
            tag="tenants",
            access="tenant",
            params=_TENANT_ID,
            returns=tenant_select,
        ),
        route(
            "PATCH",
            TENANT,
            _update_tenant,
            operation_id="update_tenant",
            summary="Rename a tenant",
            tag="tenants",
            access="operator",
            params=_TENANT_ID,
            body=_TENANT_MODELS.api_update,
            returns=tenant_select,
        ),
        route(
            "DELETE",
            TENANT,
            _delete_tenant,
            operation_id="delete_tenant",
            summary="Delete a tenant and every runtime row of it",
            tag="tenants",
            access="operator",
            params=_TENANT_ID,
            status_code=HTTP_204_NO_CONTENT,
        ),
        route(
            "POST",
            keys,
            _issue_key,
            operation_id="issue_api_key",
            summary="Issue an API key (its secret is shown once)",
            tag="api-keys",
            access="keys",
            params=_TENANT_ID,
            body=ApiKeyIssue,
            returns=IssuedKey,
            status_code=HTTP_201_CREATED,
        ),
        route(
            "GET",
            keys,
            _list_keys,
            operation_id="list_api_keys",
            summary="List API keys",
            tag="api-keys",
            access="keys",
            params=[*_TENANT_ID, *PAGE_PARAMS],
            returns=Page[ApiKeyPublic],
        ),
        route(
            "GET",
            f"{keys}/{{api_key_id:str}}",
            _get_key,
            operation_id="get_api_key",
            summary="Get an API key",
            tag="api-keys",
            access="keys",
            params=_KEY_ID,
            returns=ApiKeyPublic,
        ),
        route(
            "DELETE",
            f"{keys}/{{api_key_id:str}}",
            _revoke_key,
            operation_id="revoke_api_key",
            summary="Revoke an API key (final; it stays listed)",
            tag="api-keys",
            access="keys",
            params=_KEY_ID,
            status_code=HTTP_204_NO_CONTENT,
        ),
    ]
