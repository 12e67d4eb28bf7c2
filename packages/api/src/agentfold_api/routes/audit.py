"""The security audit log of a tenant, for its admins and the operator."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Request, Response
from litestar.handlers import HTTPRouteHandler
from litestar.params import Parameter

from agentfold_api.context import (
    PAGE_PARAMS,
    json_bytes,
    page_response,
    principal,
    service,
    tenant_scope,
)
from agentfold_api.routes.paths import TENANT
from agentfold_api.routing import Param, route
from agentfold_core.data_access.runtime.audit_events import (
    AUDIT_ACTIONS,
    AUDIT_EVENTS,
    FILTERS,
    list_audit_events,
)
from agentfold_core.pagination import Page

_SELECT = AUDIT_EVENTS.models.api_select
_FIELDS = set(_SELECT.model_fields)
_FILTER_TEXT = {
    "action": "Only this action: " + ", ".join(f"`{a}`" for a in sorted(AUDIT_ACTIONS)),
    "principal": "Only events of this principal (`api-key:<key id>`, `operator`, `unknown`)",
    "target_kind": "Only events on this kind of resource (`api_key`, `credential_secret`, "
    "`branch`)",
    "target_id": "Only events on the resource with this id",
    "project_id": "Only events on resources of this project",
}
_FILTER_PARAMS = [
    Param(
        name,
        Annotated[str | None, Parameter(description=_FILTER_TEXT[name], max_length=300)],
        None,
        query=True,
    )
    for name in FILTERS
]
_TIME_PARAMS = [
    Param(
        "since",
        Annotated[datetime | None, Parameter(description="Events at or after this time")],
        None,
        query=True,
    ),
    Param(
        "until",
        Annotated[datetime | None, Parameter(description="Events before this time")],
        None,
        query=True,
    ),
]


async def _list(request: Request[Any, Any, Any], *, tenant_id: str, **kw: Any) -> Response[Any]:
    scope = tenant_scope(principal(request), tenant_id)
    where = {name: kw[name] for name in FILTERS if kw[name] is not None}
    found = await list_audit_events(service(request).runtime)(
        scopes=scope,
        page=kw["page"],
        limit=kw["limit"],
        where=where,
        since=kw["since"],
        until=kw["until"],
    )
    return page_response((json_bytes(row, _FIELDS) for row in found.data), found.pagination)


def audit_handlers() -> list[HTTPRouteHandler]:
    """The audit list route."""
    return [
        route(
            "GET",
            f"{TENANT}/audit-events",
            _list,
            operation_id="list_audit_events",
            summary="List the tenant's security audit events, newest first",
            description="Who did what to which resource, when and from where: API keys "
            "issued and revoked, failed authentications (batched per key: "
            "`detail.attempts`), secrets set and deleted, merges and branch deletions. "
            "Never a secret value or a key.",
            tag="audit",
            access="tenant",
            params=[Param("tenant_id", str), *_FILTER_PARAMS, *_TIME_PARAMS, *PAGE_PARAMS],
            returns=Page[_SELECT],  # type: ignore[valid-type]
        )
    ]
