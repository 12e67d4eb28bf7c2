"""One way to declare a route: its signature is built from declared parameters, so
handlers generated per entity still get typed, documented parameters and bodies."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, fields
from typing import Annotated, Any, Literal, get_args, get_origin

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import (
    Body,
    HeaderParameter,
    ParameterKwarg,
    PathParameter,
    QueryParameter,
)
from litestar.status_codes import HTTP_204_NO_CONTENT

from agentfold_api.auth import ACCESS_OPT, BODY_OPT, QUERY_OPT, guard
from agentfold_api.principal import Access
from agentfold_api.schemas import Problem

Handler = Callable[..., Awaitable[Response[Any]]]

_ERROR_TEXT = {
    400: "Malformed request (unknown parameter, bad JSON, wrong content type)",
    401: "Missing, invalid, expired or revoked credential",
    403: "The credential's role may not call this route",
    404: "Not found (also anything of another tenant or project)",
    409: "Conflict with the current state",
    413: "Request body too large",
    415: "The body is not application/json",
    422: "Validation failed: one entry per failing field",
    503: "The service's master keys cannot seal or open the secret (the detail names the key)",
}


@dataclass(frozen=True, slots=True)
class Param:
    """One declared parameter (path, query or header; the annotation says which)."""

    name: str
    annotation: Any
    default: Any = inspect.Parameter.empty
    # A query parameter the route accepts (anything else is refused).
    query: bool = False


Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


def _sourced(param: Param, path: str) -> Any:
    # The parameter's annotation with its source named by its marker (path, query or
    # header), as Litestar 3 requires: a bare annotation or a generic ``Parameter``
    # leaves Litestar to infer it (deprecated).
    base, marker, others = param.annotation, None, []
    if get_origin(base) is Annotated:
        base, *extra = get_args(base)
        marker = next((m for m in extra if isinstance(m, ParameterKwarg)), None)
        others = [m for m in extra if m is not marker]
    if isinstance(marker, HeaderParameter | QueryParameter | PathParameter):
        return param.annotation  # its source named already
    kind: type[ParameterKwarg]
    if marker is not None and marker.header:
        kind = HeaderParameter
    elif param.query or (marker is not None and marker.query):
        kind = QueryParameter
    elif f"{{{param.name}}}" in path or f"{{{param.name}:" in path:
        kind = PathParameter
    else:
        kind = QueryParameter
    values = {} if marker is None else {f.name: getattr(marker, f.name) for f in fields(marker)}
    # The wire name moves from the legacy ``header=`` / ``query=`` to ``name``.
    header, query = values.pop("header", None), values.pop("query", None)
    if (header or query) and not values.get("name"):
        values["name"] = header or query
    return Annotated[(base, *others, kind(**values))]


class GuardedRoute(HTTPRouteHandler):
    """A route handler whose guards are given the handler itself: Litestar gives each
    guard a shallow copy of it, made anew on every request (a sixth of a plain read's
    server time here), which our guard, reading only ``opt``, does not need."""

    async def authorize_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        """Run the route's guards."""
        for check in self.resolve_guards():
            await check(connection, self)  # type: ignore[misc]


def route(
    method: Method,
    path: str,
    handler: Handler,
    *,
    operation_id: str,
    summary: str,
    tag: str,
    access: Access | None,
    params: Sequence[Param] = (),
    body: Any = None,
    returns: Any = None,
    status_code: int = 200,
    errors: Sequence[int] = (),
    description: str | None = None,
) -> HTTPRouteHandler:
    """A route handler calling ``handler(request, **parameters)``."""

    async def endpoint(request: Request[Any, Any, Any], **kwargs: Any) -> Response[Any]:
        return await handler(request, **kwargs)

    declared = [
        inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
        *(
            inspect.Parameter(
                p.name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=_sourced(p, path),
                default=p.default,
            )
            for p in params
        ),
    ]
    if body is not None:
        declared.append(
            inspect.Parameter(
                "data", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[body, Body()]
            )
        )
    # A 204 is documented without content (the handler's Response is still sent).
    result: Any = None if status_code == HTTP_204_NO_CONTENT else Response[returns]
    endpoint.__signature__ = inspect.Signature(declared, return_annotation=result)  # type: ignore[attr-defined]
    endpoint.__annotations__ = {p.name: p.annotation for p in declared} | {"return": result}
    endpoint.__name__ = endpoint.__qualname__ = operation_id
    endpoint.__doc__ = summary

    statuses = {400, 401, 422, *errors}
    if body is not None:
        statuses |= {413, 415}
    if access is not None:
        statuses.add(403)
    if "{" in path:
        statuses.add(404)
    return GuardedRoute(
        path=path,
        http_method=method,
        status_code=status_code,
        operation_id=operation_id,
        summary=summary,
        description=description,
        tags=[tag],
        guards=[guard],
        security=[{"bearer": []}],
        opt={
            ACCESS_OPT: access,
            QUERY_OPT: frozenset(p.name for p in params if p.query),
            BODY_OPT: body is not None,
        },
        responses={
            s: ResponseSpec(
                data_container=Problem,
                description=_ERROR_TEXT[s],
                media_type="application/problem+json",
                generate_examples=False,
            )
            for s in sorted(statuses)
        },
    )(endpoint)
