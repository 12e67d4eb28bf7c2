"""Every error as an RFC 9457 problem document with a stable ``code``.

Domain errors of the core map by class; the framework's own HTTP errors (unknown
route, malformed body, parameter parsing) map by status; anything else is logged and
answered with a bare 500 that names nothing of the failure.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)

from agentfold_core.errors import (
    AgentfoldError,
    Conflict,
    CredentialStoreUnavailable,
    InsufficientCredits,
    InvalidRef,
    InvalidReference,
    MasterKeyMissing,
    NotFound,
    ReadOnlyCredentialStore,
    ReadOnlyRef,
    RunFinished,
    SecretUndecryptable,
    ValidationFailed,
    field_error,
)
from agentfold_core.versioning.merge import MergeConflict

log = logging.getLogger("agentfold.api")

PROBLEM = "application/problem+json"

# Most specific first: the first class an error is an instance of decides.
_STATUS: tuple[tuple[type[AgentfoldError], int, str], ...] = (
    (MergeConflict, HTTP_409_CONFLICT, "merge_conflict"),
    (ReadOnlyRef, HTTP_409_CONFLICT, "read_only_ref"),
    (RunFinished, HTTP_409_CONFLICT, "run_finished"),
    (InsufficientCredits, HTTP_409_CONFLICT, "insufficient_credits"),
    (Conflict, HTTP_409_CONFLICT, "conflict"),
    (NotFound, HTTP_404_NOT_FOUND, "not_found"),
    (InvalidReference, HTTP_422_UNPROCESSABLE_ENTITY, "invalid_reference"),
    (InvalidRef, HTTP_422_UNPROCESSABLE_ENTITY, "invalid_ref"),
    (ValidationFailed, HTTP_422_UNPROCESSABLE_ENTITY, "validation_failed"),
    (ReadOnlyCredentialStore, HTTP_409_CONFLICT, "credential_store_read_only"),
    (CredentialStoreUnavailable, HTTP_409_CONFLICT, "credential_store_unavailable"),
    # The service's master keys cannot open (or seal) the secret: an operator must add
    # the key the detail names; the client can only retry later.
    (MasterKeyMissing, HTTP_503_SERVICE_UNAVAILABLE, "master_key_missing"),
    (SecretUndecryptable, HTTP_503_SERVICE_UNAVAILABLE, "secret_undecryptable"),
)

# Framework errors by status: the code a client can switch on.
_HTTP_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    503: "unavailable",
}

_TITLES: dict[int, str] = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    500: "Internal server error",
    503: "Service unavailable",
}

# Context keys of domain errors a client may see (others stay server-side).
_PUBLIC_CONTEXT = ("resource", "key", "conflicts", "expected", "found", "key_id", "store")


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    errors: Sequence[Mapping[str, Any]] = (),
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response[bytes]:
    """A problem document response."""
    body: dict[str, Any] = {
        "type": f"urn:agentfold:problem:{code}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "code": code,
        "detail": detail,
    }
    if errors:
        body["errors"] = list(errors)
    body.update(extra)
    return Response(
        msgspec.json.encode(body, enc_hook=str),
        status_code=status,
        media_type=PROBLEM,
        headers=dict(headers or {}),
    )


def domain_problem(_: Request[Any, Any, Any], exc: AgentfoldError) -> Response[bytes]:
    """A core error as its problem document."""
    found = next(((s, c) for cls, s, c in _STATUS if isinstance(exc, cls)), None)
    if found is None:
        return internal_problem(_, exc)
    status, code = found
    extra = {k: exc.context[k] for k in _PUBLIC_CONTEXT if k in exc.context}
    errors = exc.errors if isinstance(exc, ValidationFailed | InvalidReference) else ()
    return problem(status, code, exc.message, errors=errors, **extra)


def _field_errors(exc: ValidationException) -> list[dict[str, Any]]:
    # The body's pydantic errors ride on the cause; parameter errors on ``extra``.
    cause = getattr(exc.__cause__, "errors", None)
    if isinstance(cause, list) and cause:
        return [
            dict(
                field_error(
                    ".".join(str(p) for p in e.get("loc", ())),
                    str(e.get("msg", "invalid")),
                    str(e.get("type", "invalid")),
                )
            )
            for e in cause
        ]
    found = exc.extra if isinstance(exc.extra, list) else []
    return [
        dict(
            field_error(
                str(e.get("key", "")) if isinstance(e, Mapping) else "",
                str(e.get("message", "invalid")) if isinstance(e, Mapping) else str(e),
                f"invalid_{e.get('source', 'value')}" if isinstance(e, Mapping) else "invalid",
            )
        )
        for e in found
    ]


def http_problem(_: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    """A framework HTTP error as a problem document."""
    status = exc.status_code
    if status >= HTTP_500_INTERNAL_SERVER_ERROR:
        return internal_problem(_, exc)
    if isinstance(exc, ValidationException):
        errors = _field_errors(exc)
        from_body = any(getattr(exc.__cause__, "errors", None) or ()) or any(
            isinstance(e, Mapping) and e.get("source") == "body"
            for e in (exc.extra if isinstance(exc.extra, list) else [])
        )
        if from_body and errors:
            return problem(
                HTTP_422_UNPROCESSABLE_ENTITY, "validation_failed", "invalid body", errors=errors
            )
        return problem(HTTP_400_BAD_REQUEST, "bad_request", "invalid request", errors=errors)
    headers = dict(exc.headers or {})
    return problem(status, _HTTP_CODES.get(status, "error"), str(exc.detail), headers=headers)


def internal_problem(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """An unexpected failure: logged with its traceback, answered without details."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(HTTP_500_INTERNAL_SERVER_ERROR, "internal_error", "internal server error")


EXCEPTION_HANDLERS: Mapping[Any, Any] = {
    AgentfoldError: domain_problem,
    HTTPException: http_problem,
    Exception: internal_problem,
}
