"""Credits of a tenant and of each of its projects (each its own principal): the
balance, the grants and the ledger for the tenant's admins; new grants for the
operator only, since credits stand for money a tenant cannot mint for itself."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.handlers import HTTPRouteHandler
from litestar.status_codes import HTTP_201_CREATED
from pydantic import BaseModel

from agentfold_api.bodies import insert_body
from agentfold_api.context import PAGE_PARAMS, json_response, model_response, page_response, service
from agentfold_api.routes.paths import IDS, PREFIX
from agentfold_api.routes.runner import encode, selected
from agentfold_api.routing import Param, route
from agentfold_api.runtime_scopes import existing_scope
from agentfold_core.data_access.crud import Entity
from agentfold_core.data_access.runtime.credits import (
    CREDIT_GRANTS,
    CREDIT_LEDGER,
    Balance,
    credit_balance,
    grant_credits,
    principal,
)
from agentfold_core.db.columns import ScopeLevel
from agentfold_core.pagination import Page

# The principal is the route's scope; what remains is derived (the debt a grant repays
# comes off its amount).
CreditGrantCreate = insert_body(
    CREDIT_GRANTS,
    "CreditGrantCreate",
    drop=("id", "project_id", "remaining"),
    required=("amount",),
)
LEVELS = (ScopeLevel.TENANT, ScopeLevel.PROJECT)


def _whose(level: ScopeLevel) -> str:
    return "the tenant's own credits" if level is ScopeLevel.TENANT else "a project's credits"


async def _balance(
    request: Request[Any, Any, Any], *, tenant_id: str, project_id: str | None = None
) -> Response[Any]:
    scope = await existing_scope(request, tenant_id, project_id)
    found = await credit_balance(service(request).runtime)(scopes=scope)
    return model_response(found)


def _lister(entity: Entity[Any]) -> Any:
    """The handler listing ``entity``'s rows of one principal, newest first."""

    async def list_rows(
        request: Request[Any, Any, Any],
        *,
        tenant_id: str,
        project_id: str | None = None,
        page: int,
        limit: int,
    ) -> Response[Any]:
        scope = await existing_scope(request, tenant_id, project_id)
        # The tenant's own rows have no project; a project's rows name it.
        where = {"project_id": principal(scope)}
        found: Page[Any] = await entity.list(service(request).runtime)(
            scopes=scope, page=page, limit=limit, where=where
        )
        return page_response((encode(entity, r) for r in found.data), found.pagination)

    return list_rows


async def _grant(
    request: Request[Any, Any, Any],
    *,
    tenant_id: str,
    project_id: str | None = None,
    data: BaseModel,
) -> Response[Any]:
    scope = await existing_scope(request, tenant_id, project_id)
    row = await grant_credits(service(request).runtime)(
        scopes=scope, **data.model_dump(exclude_unset=True)
    )
    return json_response(encode(CREDIT_GRANTS, row), status_code=HTTP_201_CREATED)


def credit_handlers() -> list[HTTPRouteHandler]:
    """Credit routes of the tenant's own principal and of each project's."""
    handlers = []
    for level in LEVELS:
        prefix = PREFIX[level]
        ids = [Param(n, str) for n in IDS[level]]
        suffix = "" if level is ScopeLevel.TENANT else "project_"
        whose = _whose(level)
        common: dict[str, Any] = {"tag": "credits", "params": ids}
        handlers += [
            route(
                "GET",
                f"{prefix}/credits",
                _balance,
                operation_id=f"get_{suffix}credit_balance",
                summary=f"The balance of {whose}: live remaining, debt, net, per grant type",
                description="Expired grants count for nothing; debt never expires.",
                access="tenant",
                returns=Balance,
                **common,
            ),
            route(
                "GET",
                f"{prefix}/credit-grants",
                _lister(CREDIT_GRANTS),
                operation_id=f"list_{suffix}credit_grants",
                summary=f"Grants of {whose}, newest first",
                access="tenant",
                returns=Page[selected(CREDIT_GRANTS)],  # type: ignore[misc]
                **{**common, "params": [*ids, *PAGE_PARAMS]},
            ),
            route(
                "POST",
                f"{prefix}/credit-grants",
                _grant,
                operation_id=f"grant_{suffix}credits",
                summary=f"Grant {whose.replace('credits', 'principal')} credits"
                " (idempotent by operation_id)",
                description="For the operator only: credits stand for money, so a tenant's"
                " own keys can read them but never grant them. The grant first repays"
                " outstanding debt; what is left is its remaining. A repeated `operation_id`"
                " answers the first grant unchanged; reused for a different grant, 409.",
                access="operator",
                body=CreditGrantCreate,
                returns=selected(CREDIT_GRANTS),
                status_code=HTTP_201_CREATED,
                errors=(409,),
                **common,
            ),
            route(
                "GET",
                f"{prefix}/credit-ledger",
                _lister(CREDIT_LEDGER),
                operation_id=f"list_{suffix}credit_ledger",
                summary=f"The ledger of {whose}: every grant and consumption, newest first",
                access="tenant",
                returns=Page[selected(CREDIT_LEDGER)],  # type: ignore[misc]
                **{**common, "params": [*ids, *PAGE_PARAMS]},
            ),
        ]
    return handlers
