"""What every route reads from a request: the caller, the scope it may reach, the ref,
the commit message; and how rows go out as JSON."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from litestar import Request, Response
from litestar.params import HeaderParameter, Parameter, QueryParameter
from pydantic import BaseModel

from agentfold_api.principal import Principal
from agentfold_api.routing import Param
from agentfold_api.state import ServiceState, app_state
from agentfold_core.db.columns import ScopeLevel
from agentfold_core.errors import ValidationFailed, field_error
from agentfold_core.pagination import DEFAULT_LIMIT, MAX_LIMIT, MAX_PAGE, Pagination
from agentfold_core.scopes import (
    DEFAULT_BRANCH,
    AgentScope,
    ProjectScope,
    SubAgentScope,
    TenantScope,
)

JSON = "application/json"
COMMIT_HEADER = "x-agentfold-commit"
REF_HEADER = "x-agentfold-ref"
MESSAGE_HEADER = "x-agentfold-commit-message"

# Parameters shared by many routes.
REF_PARAMS = (
    Param(
        "ref",
        Annotated[
            str | None,
            QueryParameter(
                name="ref",
                description="Branch, tag, commit id or prefix, or `main~N` (default `main`);"
                " writes need a branch",
                max_length=256,
            ),
        ],
        None,
        query=True,
    ),
    Param(
        "ref_header",
        Annotated[str | None, HeaderParameter(name=REF_HEADER, description="Same as `?ref=`")],
        None,
    ),
)
MESSAGE_PARAM = Param(
    "commit_message",
    Annotated[
        str | None,
        HeaderParameter(
            name=MESSAGE_HEADER, description="Commit message of this write", max_length=4096
        ),
    ],
    None,
)
PAGE_PARAMS = (
    Param(
        "page",
        Annotated[int, Parameter(ge=1, le=MAX_PAGE, description="Page number")],
        1,
        query=True,
    ),
    Param(
        "limit",
        Annotated[int, Parameter(ge=1, le=MAX_LIMIT, description="Rows per page")],
        DEFAULT_LIMIT,
        query=True,
    ),
)
SCOPE_PARAMS = ("tenant_id", "project_id", "agent_id", "sub_agent_id")


def service(request: Request[Any, Any, Any]) -> ServiceState:
    """The running service's state."""
    return app_state(request.app)


def principal(request: Request[Any, Any, Any]) -> Principal:
    """The authenticated caller."""
    user: Principal = request.user
    return user


def chosen_ref(ref: str | None, ref_header: str | None) -> str:
    """The ref of ``?ref=`` or the ref header (they must agree), default ``main``."""
    if ref is not None and ref_header is not None and ref != ref_header:
        message = f"?ref={ref!r} and {REF_HEADER}: {ref_header!r} disagree"
        raise ValidationFailed(message, errors=[field_error("ref", message, "ref_mismatch")])
    return ref or ref_header or DEFAULT_BRANCH


def tenant_scope(caller: Principal, tenant_id: str) -> TenantScope:
    """The tenant of the path, if the caller reaches it (else 404, as if missing)."""
    caller.check_reach(tenant_id)
    return TenantScope(tenant_id)


def scope_at(level: ScopeLevel, caller: Principal, ids: Mapping[str, Any], ref: str) -> TenantScope:
    """The scope of ``level`` named by the path ids at ``ref``, if the caller reaches it."""
    tenant_id = ids["tenant_id"]
    if level is ScopeLevel.TENANT:
        return tenant_scope(caller, tenant_id)
    project_id = ids["project_id"]
    caller.check_reach(tenant_id, project_id)
    agent_id = None if level is ScopeLevel.PROJECT else ids["agent_id"]
    sub_agent_id = ids["sub_agent_id"] if level is ScopeLevel.SUB_AGENT else None
    return _scope(tenant_id, project_id, agent_id, sub_agent_id, ref)


@functools.lru_cache(maxsize=4096)
def _scope(
    tenant_id: str,
    project_id: str,
    agent_id: str | None,
    sub_agent_id: str | None,
    ref: str,
) -> ProjectScope:
    # Scopes are immutable and their ids checked when made: the same path's scope is
    # made once, not on every request (a rejected one is not kept and is refused again).
    if agent_id is None:
        return ProjectScope(tenant_id, project_id, ref=ref)
    if sub_agent_id is None:
        return AgentScope(tenant_id, project_id, agent_id, ref=ref)
    return SubAgentScope(tenant_id, project_id, agent_id, sub_agent_id, ref=ref)


def project_scope_at(
    level: ScopeLevel, caller: Principal, ids: Mapping[str, Any], ref: str
) -> ProjectScope:
    """``scope_at`` for the levels under a project (every manage entity's)."""
    scope = scope_at(level, caller, ids, ref)
    if not isinstance(scope, ProjectScope):
        raise TypeError(f"{level} is not under a project")
    return scope


def path_scope(
    request: Request[Any, Any, Any], level: ScopeLevel, kw: dict[str, Any]
) -> ProjectScope:
    """The scope a manage route's path names at the request's ref (the ref parameters
    and path ids are taken out of ``kw``)."""
    ref = chosen_ref(kw.pop("ref", None), kw.pop("ref_header", None))
    return project_scope_at(level, principal(request), kw, ref)


def json_bytes(model: BaseModel, include: set[str] | None = None) -> bytes:
    """A model as JSON bytes (only the fields in ``include``, when given), straight from
    its serializer: ``model_dump_json`` would decode them to a str to be encoded again."""
    return model.__pydantic_serializer__.to_json(model, include=include)


def json_response(
    content: bytes, *, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response[bytes]:
    """Already encoded JSON."""
    return Response(content, status_code=status_code, media_type=JSON, headers=dict(headers or {}))


def model_response(
    model: BaseModel, *, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response[bytes]:
    """A pydantic model as JSON."""
    return json_response(json_bytes(model), status_code=status_code, headers=headers)


def page_response(
    items: Iterable[bytes], pagination: Pagination, *, headers: Mapping[str, str] | None = None
) -> Response[bytes]:
    """``{data, pagination}`` from already encoded rows."""
    body = b'{"data":[' + b",".join(items) + b'],"pagination":' + json_bytes(pagination) + b"}"
    return json_response(body, headers=headers)


def commit_headers(commit: str | None) -> dict[str, str]:
    """The commit header, when there is a commit to name."""
    return {COMMIT_HEADER: commit} if commit else {}
