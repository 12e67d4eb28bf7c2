"""Version control of a project over HTTP: branches, log, diff, merge, revert, reset,
tags and status. Merges and branch deletions are audited once they have committed."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response
from litestar.handlers import HTTPRouteHandler
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from pydantic import BaseModel, ConfigDict, Field

from agentfold_api.audit import after_commit
from agentfold_api.context import (
    MESSAGE_PARAM,
    PAGE_PARAMS,
    REF_PARAMS,
    commit_headers,
    json_bytes,
    model_response,
    path_scope,
    principal,
    service,
)
from agentfold_api.routes.paths import PROJECT
from agentfold_api.routing import Param, route
from agentfold_api.writes import on_behalf
from agentfold_core.data_access.runtime.audit_events import AuditAction, AuditRecord
from agentfold_core.db.columns import ScopeLevel
from agentfold_core.errors import NotFound
from agentfold_core.pagination import Page
from agentfold_core.scopes import ProjectScope
from agentfold_core.versioning.branches import (
    BranchInfo,
    TagInfo,
    create_branch,
    create_tag,
    delete_branch,
    delete_tag,
    list_branches,
    list_tags,
)
from agentfold_core.versioning.diff import Diff, diff
from agentfold_core.versioning.merge import (
    MergePreview,
    MergeResult,
    Resolution,
    merge,
    merge_preview,
    reset,
    revert,
)
from agentfold_core.versioning.operations import BranchStatus, CommitInfo, log, status

_PROJECT = [Param("tenant_id", str), Param("project_id", str)]
_NAME = Annotated[str, Field(min_length=1, max_length=256)]
# A conflict is addressed as "table:row key"; the value keeps ours, theirs or a row.
_RESOLUTIONS = Annotated[
    dict[str, Resolution] | None,
    Field(description='By "table:row key": "ours", "theirs" or the row to keep'),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BranchCreate(_Body):
    """A new branch, from ``from_ref`` (default: the request's ref)."""

    name: _NAME
    from_ref: _NAME | None = None


class TagCreate(_Body):
    """A new tag at ``ref`` (default: the request's ref)."""

    name: _NAME
    ref: _NAME | None = None
    message: str | None = Field(default=None, max_length=4096)


class MergeRequest(_Body):
    """Merge ``from_ref`` into the request's branch."""

    from_ref: _NAME
    resolutions: _RESOLUTIONS = None
    # The heads a preview showed (``ours``, ``theirs``): a moved head is a conflict.
    expected_ours: _NAME | None = None
    expected_theirs: _NAME | None = None


class PreviewRequest(_Body):
    """What merging ``from_ref`` would do."""

    from_ref: _NAME
    resolutions: _RESOLUTIONS = None


class RevertRequest(_Body):
    """Undo one commit on the request's branch, keeping later changes."""

    commit_ref: _NAME
    resolutions: _RESOLUTIONS = None


class ResetRequest(_Body):
    """Move the request's branch (and its rows) to ``to_ref``; no new commit."""

    to_ref: _NAME


def _scope(request: Request[Any, Any, Any], kw: dict[str, Any]) -> ProjectScope:
    return path_scope(request, ScopeLevel.PROJECT, kw)


def _list_json(items: list[Any]) -> bytes:
    return b"[" + b",".join(json_bytes(i) for i in items) + b"]"


async def _branches(request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
    scope = _scope(request, kw)
    found = await list_branches(service(request).manage)(scopes=scope)
    return Response(_list_json(found), media_type="application/json")


async def _branch(request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
    name = kw.pop("branch").lstrip("/")
    scope = _scope(request, kw)
    for info in await list_branches(service(request).manage)(scopes=scope):
        if info.name == name:
            return model_response(info, headers=commit_headers(info.head))
    raise NotFound("branch not found", resource="branch", key={"branch": name})


async def _create_branch(request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
    data: BranchCreate = kw.pop("data")
    scope = _scope(request, kw)
    source = scope.at(data.from_ref) if data.from_ref else scope
    with on_behalf(principal(request), None):
        info = await create_branch(service(request).manage)(scopes=source, name=data.name)
    return model_response(info, status_code=HTTP_201_CREATED, headers=commit_headers(info.head))


async def _delete_branch(request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
    name = kw.pop("branch").lstrip("/")
    scope = _scope(request, kw).at(name)
    state = service(request)
    with on_behalf(principal(request), None):
        found = await delete_branch(state.manage, state.runtime)(scopes=scope)
    if not found:
        raise NotFound("branch not found", resource="branch", key={"branch": name})
    event = AuditRecord(
        AuditAction.BRANCH_DELETED,
        target_kind="branch",
        target_id=name,
        project_id=scope.project_id,
    )
    await after_commit(request, scope, event)
    return Response(None, status_code=HTTP_204_NO_CONTENT)


async def _log(request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
    page, limit = kw.pop("page"), kw.pop("limit")
    table, row_key, first_parent = kw.pop("table"), kw.pop("row_key"), kw.pop("first_parent")
    scope = _scope(request, kw)
    found = await log(service(request).manage)(
        scopes=scope,
        page=page,
        limit=limit,
        first_parent=first_parent,
        table=table,
        row_key=row_key,
    )
    return model_response(found)


async def _diff(request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
    from_ref, to_ref = kw.pop("from_ref"), kw.pop("to_ref")
    scope = _scope(request, kw)
    found = await diff(service(request).manage)(scopes=scope, from_ref=from_ref, to_ref=to_ref)
    return model_response(found, headers=commit_headers(found.to_commit))


async def _preview(request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
    data: PreviewRequest = kw.pop("data")
    scope = _scope(request, kw)
    found = await merge_preview(service(request).manage)(
        scopes=scope, from_ref=data.from_ref, resolutions=data.resolutions
    )
    return model_response(found, headers=commit_headers(found.ours))


async def _merge(request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
    data: MergeRequest = kw.pop("data")
    message = kw.pop("commit_message")
    scope = _scope(request, kw)
    expected = None
    if data.expected_ours is not None or data.expected_theirs is not None:
        expected = (data.expected_ours or "", data.expected_theirs or "")
    caller = principal(request)
    result = await merge(service(request).manage)(
        scopes=scope,
        from_ref=data.from_ref,
        resolutions=data.resolutions,
        author=caller.author,
        message=message,
        expected_heads=expected,
    )
    event = AuditRecord(
        AuditAction.MERGE_COMPLETED,
        target_kind="branch",
        target_id=scope.ref,
        project_id=scope.project_id,
        detail={
            "from_ref": data.from_ref,
            "commit_id": result.commit_id,
            "fast_forward": result.fast_forward,
            "up_to_date": result.up_to_date,
            "resolutions": len(data.resolutions or {}),
        },
    )
    await after_commit(request, scope, event)
    return model_response(result, headers=commit_headers(result.commit_id))


async def _revert(request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
    data: RevertRequest = kw.pop("data")
    message = kw.pop("commit_message")
    scope = _scope(request, kw)
    result = await revert(service(request).manage)(
        scopes=scope,
        commit_ref=data.commit_ref,
        resolutions=data.resolutions,
        author=principal(request).author,
        message=message,
    )
    return model_response(result, headers=commit_headers(result.commit_id))


async def _reset(request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
    data: ResetRequest = kw.pop("data")
    scope = _scope(request, kw)
    result = await reset(service(request).manage)(
        scopes=scope, to_ref=data.to_ref, author=principal(request).author
    )
    return model_response(result, headers=commit_headers(result.commit_id))


async def _tags(request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
    scope = _scope(request, kw)
    found = await list_tags(service(request).manage)(scopes=scope)
    return Response(_list_json(found), media_type="application/json")


async def _create_tag(request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
    data: TagCreate = kw.pop("data")
    scope = _scope(request, kw)
    source = scope.at(data.ref) if data.ref else scope
    info = await create_tag(service(request).manage)(
        scopes=source, name=data.name, message=data.message, author=principal(request).author
    )
    return model_response(
        info, status_code=HTTP_201_CREATED, headers=commit_headers(info.commit_id)
    )


async def _delete_tag(request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
    name = kw.pop("tag").lstrip("/")
    scope = _scope(request, kw)
    if not await delete_tag(service(request).manage)(scopes=scope, name=name):
        raise NotFound("tag not found", resource="tag", key={"tag": name})
    return Response(None, status_code=HTTP_204_NO_CONTENT)


async def _status(request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
    scope = _scope(request, kw)
    found = await status(service(request).manage)(scopes=scope)
    return model_response(found, headers=commit_headers(found.head))


def versioning_handlers() -> list[HTTPRouteHandler]:
    """Every version-control route of a project."""
    reads, writes = [*_PROJECT, *REF_PARAMS], [*_PROJECT, *REF_PARAMS, MESSAGE_PARAM]
    tag = "versioning"
    text = Annotated[str | None, Parameter(max_length=256)]
    branch = [Param("branch", str)]
    return [
        route(
            "GET",
            f"{PROJECT}/branches",
            _branches,
            operation_id="list_branches",
            summary="List branches (with commits ahead of and behind main)",
            tag=tag,
            access="read",
            params=reads,
            returns=list[BranchInfo],
        ),
        route(
            "POST",
            f"{PROJECT}/branches",
            _create_branch,
            operation_id="create_branch",
            summary="Create a branch from a ref",
            tag=tag,
            access="write",
            params=reads,
            body=BranchCreate,
            returns=BranchInfo,
            status_code=HTTP_201_CREATED,
            errors=(409,),
        ),
        route(
            "GET",
            f"{PROJECT}/branches/{{branch:path}}",
            _branch,
            operation_id="get_branch",
            summary="Get a branch",
            tag=tag,
            access="read",
            params=[*reads, *branch],
            returns=BranchInfo,
        ),
        route(
            "DELETE",
            f"{PROJECT}/branches/{{branch:path}}",
            _delete_branch,
            operation_id="delete_branch",
            summary="Delete a branch and the runtime rows that ran against it",
            tag=tag,
            access="write",
            params=[*reads, *branch],
            status_code=HTTP_204_NO_CONTENT,
            errors=(409,),
        ),
        route(
            "GET",
            f"{PROJECT}/commits",
            _log,
            operation_id="list_commits",
            summary="The log of a ref, newest first (optionally of one row)",
            tag=tag,
            access="read",
            params=[
                *reads,
                *PAGE_PARAMS,
                Param("first_parent", bool, True, query=True),
                Param("table", text, None, query=True),
                Param("row_key", text, None, query=True),
            ],
            returns=Page[CommitInfo],
        ),
        route(
            "GET",
            f"{PROJECT}/diff",
            _diff,
            operation_id="diff",
            summary="Row and column changes from one ref to another",
            tag=tag,
            access="read",
            params=[
                *reads,
                Param("from_ref", Annotated[str, Parameter(max_length=256)], query=True),
                Param("to_ref", text, None, query=True),
            ],
            returns=Diff,
        ),
        route(
            "POST",
            f"{PROJECT}/merge/preview",
            _preview,
            operation_id="merge_preview",
            summary="What merging a ref into the branch would do (conflicts included)",
            tag=tag,
            access="read",
            params=reads,
            body=PreviewRequest,
            returns=MergePreview,
        ),
        route(
            "POST",
            f"{PROJECT}/merge",
            _merge,
            operation_id="merge",
            summary="Merge a ref into the branch (409 listing conflicts left unresolved)",
            tag=tag,
            access="write",
            params=writes,
            body=MergeRequest,
            returns=MergeResult,
            errors=(409,),
        ),
        route(
            "POST",
            f"{PROJECT}/revert",
            _revert,
            operation_id="revert",
            summary="Undo one commit on the branch, keeping later changes",
            tag=tag,
            access="write",
            params=writes,
            body=RevertRequest,
            returns=MergeResult,
            errors=(409,),
        ),
        route(
            "POST",
            f"{PROJECT}/reset",
            _reset,
            operation_id="reset",
            summary="Move the branch to a ref (no new commit)",
            tag=tag,
            access="write",
            params=reads,
            body=ResetRequest,
            returns=MergeResult,
            errors=(409,),
        ),
        route(
            "GET",
            f"{PROJECT}/tags",
            _tags,
            operation_id="list_tags",
            summary="List tags",
            tag=tag,
            access="read",
            params=reads,
            returns=list[TagInfo],
        ),
        route(
            "POST",
            f"{PROJECT}/tags",
            _create_tag,
            operation_id="create_tag",
            summary="Tag a ref",
            tag=tag,
            access="write",
            params=reads,
            body=TagCreate,
            returns=TagInfo,
            status_code=HTTP_201_CREATED,
            errors=(409,),
        ),
        route(
            "DELETE",
            f"{PROJECT}/tags/{{tag:path}}",
            _delete_tag,
            operation_id="delete_tag",
            summary="Delete a tag",
            tag=tag,
            access="write",
            params=[*reads, Param("tag", str)],
            status_code=HTTP_204_NO_CONTENT,
        ),
        route(
            "GET",
            f"{PROJECT}/status",
            _status,
            operation_id="status",
            summary="The branch's head and uncommitted changes (none after any write)",
            tag=tag,
            access="read",
            params=reads,
            returns=BranchStatus,
        ),
    ]
