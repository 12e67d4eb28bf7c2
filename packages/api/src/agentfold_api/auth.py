"""Authentication (``Authorization: Bearer``) and the role guard of every route."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE

from agentfold_api.audit import failed_authentication
from agentfold_api.principal import ALLOWED, Principal
from agentfold_api.state import app_state
from agentfold_core.data_access.runtime.api_keys import verify_api_key
from agentfold_core.errors import ValidationFailed, field_error

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="agentfold"'}
ACCESS_OPT = "access"
QUERY_OPT = "query"
BODY_OPT = "body"


def _unauthorized(detail: str) -> NotAuthorizedException:
    return NotAuthorizedException(detail=detail, headers=_CHALLENGE)


class BearerAuthentication(AbstractAuthenticationMiddleware):
    """Finds the caller from its bearer token: the operator token or an API key."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        """The principal behind the request's credential, or 401."""
        header = connection.headers.get("authorization")
        if not header:
            raise _unauthorized("missing credential: send 'Authorization: Bearer <token>'")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized("malformed credential: send 'Authorization: Bearer <token>'")
        state = app_state(connection.app)
        if state.operator is not None and state.operator.matches(token):
            return AuthenticationResult(user=Principal(role="operator"), auth=None)
        key = await verify_api_key(state.runtime)(key=token)
        if key is None:
            # The failure path only: a verified key costs nothing more.
            await failed_authentication(connection, token)
            raise _unauthorized("invalid, expired or revoked credential")
        return AuthenticationResult(user=Principal.of_key(key), auth=key.id)


def _check_json_body(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    media_type = connection.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise HTTPException(
            status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail=f"send the body as application/json (got {media_type or 'no content type'})",
        )
    if connection.headers.get("content-length") == "0":
        raise ClientException(detail="the request body is empty: send a JSON object")


async def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """The caller's role may call the route's group, and every query parameter is known.

    A coroutine although it never awaits: Litestar runs a plain function guard in a
    worker thread, a thread hop on every request."""
    access = handler.opt.get(ACCESS_OPT)
    if access is not None:
        principal = connection.user
        if not isinstance(principal, Principal) or principal.role not in ALLOWED[access]:
            raise PermissionDeniedException(detail="this credential may not call this route")
        # Before the body is even parsed: another tenant's or project's route is
        # answered exactly as a missing one, whatever was sent.
        principal.check_reach(
            connection.path_params.get("tenant_id"), connection.path_params.get("project_id")
        )
    if handler.opt.get(BODY_OPT):
        _check_json_body(connection)
    if not connection.scope.get("query_string"):
        return  # nothing to parse (most requests)
    known: frozenset[str] = handler.opt.get(QUERY_OPT, frozenset())
    unknown = sorted(set(connection.query_params) - known)
    if unknown:
        raise ValidationFailed(
            f"unknown query parameter {unknown[0]!r}",
            errors=[
                field_error(f"query.{n}", "unknown query parameter", "unknown_parameter")
                for n in unknown
            ],
        )
