"""The secret a credential reference points at: set, replaced and deleted through its
store. The value is write-only: no response carries it, nothing logs it. Each change
is audited (``secret.created`` / ``replaced`` / ``deleted``), in the same runtime
transaction when the store is the encrypted one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, Response
from litestar.handlers import HTTPRouteHandler
from litestar.status_codes import HTTP_204_NO_CONTENT
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from agentfold_api.audit import audited
from agentfold_api.context import REF_PARAMS, model_response, path_scope, service
from agentfold_api.routes.paths import PROJECT
from agentfold_api.routing import Param, route
from agentfold_core.credentials.references import CredentialTarget, credential_target
from agentfold_core.credentials.store import MAX_SECRET_BYTES, SecretInfo
from agentfold_core.data_access.doors import Unit
from agentfold_core.data_access.runtime.audit_events import AuditAction, AuditRecord
from agentfold_core.db.columns import ScopeLevel
from agentfold_core.errors import NotFound

SECRET = f"{PROJECT}/credentials/{{credential_reference_id:str}}/secret"
_PATH = [Param("tenant_id", str), Param("project_id", str), Param("credential_reference_id", str)]
_TAG = "credentials"
_STORE_ERRORS = (409, 503)


class SecretValue(BaseModel):
    """A secret to store: write-only, never returned."""

    model_config = ConfigDict(extra="forbid")

    value: SecretStr = Field(
        min_length=1,
        # Characters, not bytes: the store checks the encoded size.
        max_length=MAX_SECRET_BYTES,
        description="The secret (an API key, a token); never returned or logged",
        json_schema_extra={"writeOnly": True, "format": "password"},
    )


class SecretStatus(BaseModel):
    """Whether a credential reference's secret is set, and where: never the value."""

    credential_reference_id: str
    store: str = Field(description="The store type the reference names")
    store_id: str
    key: str = Field(description="The secret's key in its store")
    set: bool
    updated_at: datetime | None = None
    key_id: str | None = Field(
        default=None, description="The master key wrapping it (encrypted store)"
    )


class SecretCheck(SecretStatus):
    """A stored secret that opened with the service's keys (its value stays unsaid)."""

    readable: bool


def _status(reference_id: str, target: CredentialTarget, info: SecretInfo | None) -> SecretStatus:
    return SecretStatus(
        credential_reference_id=reference_id,
        store=target.store.kind,
        store_id=target.store_id,
        key=target.key,
        set=info is not None,
        updated_at=None if info is None else info.updated_at,
        key_id=None if info is None else info.key_id,
    )


async def _target(request: Request[Any, Any, Any], kw: dict[str, Any]) -> CredentialTarget:
    reference_id = kw.pop("credential_reference_id")
    scope = path_scope(request, ScopeLevel.PROJECT, kw)
    state = service(request)
    return await credential_target(state.manage, state.credentials)(
        scopes=scope, credential_reference_id=reference_id
    )


async def _get(request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
    reference_id = kw["credential_reference_id"]
    target = await _target(request, kw)
    return model_response(_status(reference_id, target, await target.info()))


def _event(action: AuditAction, reference_id: str, target: CredentialTarget) -> AuditRecord:
    # Where the secret lives, never what it is.
    return AuditRecord(
        action,
        target_kind="credential_secret",
        target_id=reference_id,
        project_id=target.scope.project_id,
        detail={"store": target.store.kind, "store_id": target.store_id, "key": target.key},
    )


async def _put(request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
    reference_id, data = kw["credential_reference_id"], kw.pop("data")
    target = await _target(request, kw)

    async def put(unit: Unit) -> tuple[bool, SecretInfo]:
        joined = target.within(unit)
        existed = await joined.has()
        return existed, await joined.set(data.value.get_secret_value())

    def stored(result: tuple[bool, SecretInfo]) -> AuditRecord:
        action = AuditAction.SECRET_REPLACED if result[0] else AuditAction.SECRET_CREATED
        return _event(action, reference_id, target)

    _, info = await audited(request, target.scope, put, stored)
    return model_response(_status(reference_id, target, info))


async def _delete(request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
    reference_id = kw["credential_reference_id"]
    target = await _target(request, kw)

    async def delete(unit: Unit) -> None:
        if not await target.within(unit).delete():
            raise _not_set(reference_id)

    def deleted(_: None) -> AuditRecord:
        return _event(AuditAction.SECRET_DELETED, reference_id, target)

    await audited(request, target.scope, delete, deleted)
    return Response(None, status_code=HTTP_204_NO_CONTENT)


async def _verify(request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
    reference_id = kw["credential_reference_id"]
    target = await _target(request, kw)
    info = await target.info()
    # Decrypted to prove it opens, then dropped: the value leaves nothing behind here.
    if info is None or await target.get() is None:
        raise _not_set(reference_id)
    status = _status(reference_id, target, info)
    return model_response(SecretCheck(**status.model_dump(), readable=True))


def _not_set(reference_id: str) -> NotFound:
    return NotFound(
        "no secret is stored for this credential reference",
        resource="credential_secret",
        key={"credential_reference_id": reference_id},
    )


def secret_handlers() -> list[HTTPRouteHandler]:
    """Routes of the secret behind each credential reference."""
    params = [*_PATH, *REF_PARAMS]
    return [
        route(
            "GET",
            SECRET,
            _get,
            operation_id="get_credential_secret_status",
            summary="Whether the credential reference's secret is set (never its value)",
            tag=_TAG,
            access="read",
            params=params,
            returns=SecretStatus,
            errors=_STORE_ERRORS,
        ),
        route(
            "PUT",
            SECRET,
            _put,
            operation_id="put_credential_secret",
            summary="Set or replace the credential reference's secret (write-only)",
            description="Stores the value in the store the reference names (`type`, "
            "`credential_store_id`) under its key (`retrieval_params.key`, else its id). "
            "The encrypted store seals it with AES-256-GCM under the current master key.",
            tag=_TAG,
            access="write",
            params=params,
            body=SecretValue,
            returns=SecretStatus,
            errors=_STORE_ERRORS,
        ),
        route(
            "DELETE",
            SECRET,
            _delete,
            operation_id="delete_credential_secret",
            summary="Delete the credential reference's secret from its store",
            tag=_TAG,
            access="write",
            params=params,
            status_code=HTTP_204_NO_CONTENT,
            errors=_STORE_ERRORS,
        ),
        route(
            "POST",
            f"{SECRET}/verify",
            _verify,
            operation_id="verify_credential_secret",
            summary="Check that the stored secret decrypts with the service's master keys",
            description="Answers 503 `master_key_missing` or `secret_undecryptable`, naming "
            "the master key id, when it does not. The value is never returned.",
            tag=_TAG,
            access="read",
            params=params,
            returns=SecretCheck,
            errors=_STORE_ERRORS,
        ),
    ]
