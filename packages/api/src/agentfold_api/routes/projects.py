"""Projects (created and deleted across both databases) and whole-project and
whole-agent documents."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.handlers import HTTPRouteHandler
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from agentfold_api.context import (
    MESSAGE_PARAM,
    PAGE_PARAMS,
    REF_PARAMS,
    commit_headers,
    json_bytes,
    json_response,
    model_response,
    page_response,
    path_scope,
    principal,
    service,
    tenant_scope,
)
from agentfold_api.routes.paths import AGENT, PROJECT, TENANT
from agentfold_api.routing import Param, route
from agentfold_api.schemas import PutSummary
from agentfold_api.writes import committed, on_behalf
from agentfold_core.data_access.documents import (
    full_agent_model,
    full_project_model,
    get_full_agent,
    get_full_project,
    put_full_agent,
    put_full_project,
)
from agentfold_core.data_access.documents.write import PutResult
from agentfold_core.data_access.doors import Db, Unit
from agentfold_core.data_access.manage.projects import PROJECTS
from agentfold_core.data_access.project_lifecycle import (
    ProjectCreate,
    create_project,
    delete_project,
)
from agentfold_core.db.columns import ScopeLevel
from agentfold_core.errors import NotFound
from agentfold_core.pagination import Page
from agentfold_core.scopes import AgentScope, ProjectScope
from agentfold_core.versioning.operations import find_ref
from agentfold_core.versioning.reads import read_pinned

_FIELDS = set(PROJECTS.models.api_select.model_fields)
_SELECT = PROJECTS.models.api_select
_TENANT = [Param("tenant_id", str)]
_PROJECT = [*_TENANT, Param("project_id", str)]
_AGENT = [*_PROJECT, Param("agent_id", str)]


def _json(row: Any) -> bytes:
    return json_bytes(row, _FIELDS)


def _no_project(project_id: str) -> NotFound:
    return NotFound("project not found", resource="project", key={"project_id": project_id})


def _scope(request: Request[Any, Any, Any], level: ScopeLevel, kw: dict[str, Any]) -> ProjectScope:
    return path_scope(request, level, kw)


def _summary(result: PutResult) -> PutSummary:
    return PutSummary(created=result.created, updated=result.updated, deleted=result.deleted)


async def _create(
    request: Request[Any, Any, Any],
    *,
    tenant_id: str,
    data: ProjectCreate,
    commit_message: str | None,
) -> Response[Any]:
    state, caller = service(request), principal(request)
    scope = tenant_scope(caller, tenant_id)
    with on_behalf(caller, commit_message):
        row = await create_project(state.manage, state.runtime)(scopes=scope, data=data)
    head = await find_ref(state.manage)(scopes=ProjectScope(tenant_id, row.id))
    return json_response(
        _json(row),
        status_code=HTTP_201_CREATED,
        headers={
            "location": f"{request.url.path.rstrip('/')}/{row.id}",
            **commit_headers(head.commit),
        },
    )


async def _list(
    request: Request[Any, Any, Any], *, tenant_id: str, page: int, limit: int
) -> Response[Any]:
    caller = principal(request)
    scope = tenant_scope(caller, tenant_id)
    # A key bound to one project sees that project only.
    where = None if caller.project_id is None else {"id": caller.project_id}
    found = await PROJECTS.list(service(request).manage)(
        scopes=scope, page=page, limit=limit, where=where
    )
    return page_response((_json(r) for r in found.data), found.pagination)


async def _get(request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
    scope = _scope(request, ScopeLevel.PROJECT, kw)

    async def read(db: Db, at: ProjectScope) -> Any:
        return await PROJECTS.get(db)(scopes=at)

    row, commit = await read_pinned(service(request).manage, scope, read)
    if row is None:
        raise _no_project(scope.project_id)
    return json_response(_json(row), headers=commit_headers(commit))


async def _update(request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
    data, message = kw.pop("data"), kw.pop("commit_message")
    scope = _scope(request, ScopeLevel.PROJECT, kw)

    async def call(unit: Unit) -> Any:
        return await PROJECTS.update(unit)(scopes=scope, data=data)

    row, commit = await committed(service(request).manage, principal(request), message, call)
    if row is None:
        raise _no_project(scope.project_id)
    return json_response(_json(row), headers=commit_headers(commit))


async def _delete(request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
    kw.pop("commit_message")
    scope = _scope(request, ScopeLevel.PROJECT, kw)
    state = service(request)
    with on_behalf(principal(request), None):
        await delete_project(state.manage, state.runtime)(scopes=scope.at("main"))
    return Response(None, status_code=HTTP_204_NO_CONTENT)


async def _get_full_project(request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
    scope = _scope(request, ScopeLevel.PROJECT, kw)

    async def read(db: Db, at: ProjectScope) -> Any:
        return await get_full_project(db)(scopes=at)

    document, commit = await read_pinned(service(request).manage, scope, read)
    if document is None:
        raise _no_project(scope.project_id)
    return json_response(_encode(document), headers=commit_headers(commit))


async def _put_full_project(request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
    data, message = kw.pop("data"), kw.pop("commit_message")
    scope = _scope(request, ScopeLevel.PROJECT, kw)
    state = service(request)
    with on_behalf(principal(request), message):
        result = await put_full_project(state.manage, state.runtime)(scopes=scope, document=data)
    head = await find_ref(state.manage)(scopes=scope)
    return model_response(_summary(result), headers=commit_headers(head.commit))


async def _get_full_agent(request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
    scope = _scope(request, ScopeLevel.AGENT, kw)

    async def read(db: Db, at: ProjectScope) -> Any:
        return await get_full_agent(db)(
            scopes=AgentScope(at.tenant_id, at.project_id, kw["agent_id"], ref=at.ref)
        )

    document, commit = await read_pinned(service(request).manage, scope, read)
    if document is None:
        raise NotFound("agent not found", resource="agent", key={"agent_id": kw["agent_id"]})
    return json_response(_encode(document), headers=commit_headers(commit))


async def _put_full_agent(request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
    data, message = kw.pop("data"), kw.pop("commit_message")
    scope = _scope(request, ScopeLevel.AGENT, kw)
    state = service(request)
    if not isinstance(scope, AgentScope):
        raise TypeError("an agent route without an agent scope")
    with on_behalf(principal(request), message):
        result = await put_full_agent(state.manage, state.runtime)(scopes=scope, document=data)
    head = await find_ref(state.manage)(scopes=scope)
    return model_response(_summary(result), headers=commit_headers(head.commit))


def _encode(document: Any) -> bytes:
    import pydantic_core

    return pydantic_core.to_json(document)


def project_handlers() -> list[HTTPRouteHandler]:
    """Project and whole-document routes."""
    collection = f"{TENANT}/projects"
    full = f"{TENANT}/project-full/{{project_id:str}}"
    project_doc, agent_doc = full_project_model(), full_agent_model()
    reads, writes = [*REF_PARAMS], [*REF_PARAMS, MESSAGE_PARAM]
    return [
        route(
            "POST",
            collection,
            _create,
            operation_id="create_project",
            summary="Create a project (its main branch and first commit)",
            tag="projects",
            access="projects",
            params=[*_TENANT, MESSAGE_PARAM],
            body=ProjectCreate,
            returns=_SELECT,
            status_code=HTTP_201_CREATED,
            errors=(409,),
        ),
        route(
            "GET",
            collection,
            _list,
            operation_id="list_projects",
            summary="List projects",
            tag="projects",
            access="read",
            params=[*_TENANT, *PAGE_PARAMS],
            returns=Page[_SELECT],  # type: ignore[valid-type]
        ),
        route(
            "GET",
            PROJECT,
            _get,
            operation_id="get_project",
            summary="Get a project",
            tag="projects",
            access="read",
            params=[*_PROJECT, *reads],
            returns=_SELECT,
        ),
        route(
            "PATCH",
            PROJECT,
            _update,
            operation_id="update_project",
            summary="Change a project",
            tag="projects",
            access="write",
            params=[*_PROJECT, *writes],
            body=PROJECTS.models.api_update,
            returns=_SELECT,
            errors=(409,),
        ),
        route(
            "DELETE",
            PROJECT,
            _delete,
            operation_id="delete_project",
            summary="Delete a project: every branch, commit and runtime row",
            tag="projects",
            access="projects",
            params=[*_PROJECT, MESSAGE_PARAM],
            status_code=HTTP_204_NO_CONTENT,
        ),
        route(
            "GET",
            full,
            _get_full_project,
            operation_id="get_full_project",
            summary="The whole project as one document",
            tag="documents",
            access="read",
            params=[*_PROJECT, *reads],
            returns=project_doc,
        ),
        route(
            "PUT",
            full,
            _put_full_project,
            operation_id="put_full_project",
            summary="Create or replace a whole project from one document (one commit)",
            tag="documents",
            access="write",
            params=[*_PROJECT, *writes],
            body=project_doc,
            returns=PutSummary,
            errors=(409,),
        ),
        route(
            "GET",
            f"{AGENT}/full",
            _get_full_agent,
            operation_id="get_full_agent",
            summary="One agent with everything under it",
            tag="documents",
            access="read",
            params=[*_AGENT, *reads],
            returns=agent_doc,
        ),
        route(
            "PUT",
            f"{AGENT}/full",
            _put_full_agent,
            operation_id="put_full_agent",
            summary="Create or replace one agent and everything under it (one commit)",
            tag="documents",
            access="write",
            params=[*_AGENT, *writes],
            body=agent_doc,
            returns=PutSummary,
            errors=(409,),
        ),
    ]
