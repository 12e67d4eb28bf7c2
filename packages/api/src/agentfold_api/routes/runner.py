"""What the routes of runner keys share: the project (and agent) a key is bound to,
rows as their API JSON."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from litestar import Request, Response
from litestar.exceptions import PermissionDeniedException
from litestar.status_codes import HTTP_201_CREATED
from pydantic import BaseModel

from agentfold_api.context import json_bytes, json_response, page_response, principal, service
from agentfold_api.principal import Principal
from agentfold_core.data_access.crud import Entity
from agentfold_core.errors import NotFound, ValidationFailed, field_error
from agentfold_core.pagination import Page
from agentfold_core.scopes import ProjectScope

RUN = "/run/v1"


def selected(entity: Entity[Any]) -> type[BaseModel]:
    """The model a response shows of ``entity``'s rows."""
    return entity.models.api_select


def encode(entity: Entity[Any], row: BaseModel) -> bytes:
    """A row as its API JSON (scope columns left out)."""
    return json_bytes(row, _shown(entity))


@functools.cache
def _shown(entity: Entity[Any]) -> set[str]:
    # The columns a response shows (scope columns left out), computed once per entity.
    return set(entity.models.api_select.model_fields)


def bound_project(caller: Principal) -> ProjectScope:
    """The project of a runner key (the guard admits runner keys only)."""
    if caller.tenant_id is None or caller.project_id is None:
        raise PermissionDeniedException(detail="this credential is not bound to a project")
    return ProjectScope(caller.tenant_id, caller.project_id)


def caller_project(request: Request[Any, Any, Any]) -> ProjectScope:
    """The project of the request's runner key."""
    return bound_project(principal(request))


def agent_of(caller: Principal, given: str | None) -> str:
    """The agent a write runs against: the key's own when it is bound to one."""
    if caller.agent_id is not None:
        if given is not None and given != caller.agent_id:
            raise PermissionDeniedException(
                detail=f"this key is bound to agent {caller.agent_id!r}"
            )
        return caller.agent_id
    if given is None:
        message = "required: the key is bound to no agent"
        raise ValidationFailed(
            f"agent_id {message}", errors=[field_error("agent_id", message, "missing")]
        )
    return given


def visible(caller: Principal, agent_id: str | None) -> bool:
    """Whether a row of ``agent_id`` is the caller's to see (keys bound to an agent see
    that agent's rows only)."""
    return caller.agent_id is None or agent_id == caller.agent_id


def agent_filter(caller: Principal) -> dict[str, Any] | None:
    """The list filter of the caller's agent, if its key is bound to one."""
    return {"agent_id": caller.agent_id} if caller.agent_id is not None else None


def missing(entity: Entity[Any], row_id: str) -> NotFound:
    """The 404 of a row the caller does not reach (or that does not exist)."""
    label = entity.label.replace("_", " ")
    return NotFound(
        f"{label} not found", resource=entity.label, key={entity.id_param or "id": row_id}
    )


def created(entity: Entity[Any], row: BaseModel, location: str | None = None) -> Response[bytes]:
    """A 201 with the new row (and where it lives)."""
    headers = {"location": location} if location else None
    return json_response(encode(entity, row), status_code=HTTP_201_CREATED, headers=headers)


async def insert(
    request: Request[Any, Any, Any], entity: Entity[Any], values: Mapping[str, Any]
) -> Any:
    """Create a row of ``entity`` in the caller's project."""
    return await entity.create(service(request).runtime)(
        scopes=caller_project(request), data=values
    )


async def page_of(
    request: Request[Any, Any, Any],
    entity: Entity[Any],
    page: int,
    limit: int,
    where: Mapping[str, Any] | None,
) -> Response[Any]:
    """One page of ``entity``'s rows of the caller's project, newest first."""
    found: Page[Any] = await entity.list(service(request).runtime)(
        scopes=caller_project(request), page=page, limit=limit, where=where
    )
    return page_response((encode(entity, r) for r in found.data), found.pagination)
