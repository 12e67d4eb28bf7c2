"""Audit events of the requests that change security-relevant state.

Changes in the runtime database (keys, secrets) are made through ``audited``: the
change and its event share one runtime transaction, so a failed change writes no
event and an event that cannot be written undoes the change. Changes in the manage
database (merges, branch deletions) are recorded by ``after_commit`` once the manage
transaction has committed: the two databases never share a transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from litestar.connection import ASGIConnection

from agentfold_api.principal import Principal
from agentfold_api.state import app_state
from agentfold_core.data_access.doors import Unit, transaction
from agentfold_core.data_access.runtime.audit_events import (
    UNKNOWN,
    Actor,
    AuditRecord,
    record_audit_event,
)
from agentfold_core.scopes import TenantScope

T = TypeVar("T")
log = logging.getLogger("agentfold.audit")


def actor_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    """Who sent the request (``unknown`` before authentication) and from where: the
    peer address (behind a proxy, the proxy's unless the server trusts its headers)."""
    user = connection.scope.get("user")
    principal = user.audit_name if isinstance(user, Principal) else UNKNOWN
    client = connection.client
    return Actor(
        principal,
        client_address=None if client is None else client.host,
        user_agent=connection.headers.get("user-agent"),
    )


async def audited(
    connection: ASGIConnection[Any, Any, Any, Any],
    scope: TenantScope,
    change: Callable[[Unit], Awaitable[T]],
    record: Callable[[T], AuditRecord | None],
) -> T:
    """Run ``change`` in one runtime transaction with the event ``record`` makes of its
    result (``None``: nothing worth recording happened)."""
    async with transaction(app_state(connection.app).runtime) as unit:
        result = await change(unit)
        event = record(result)
        if event is not None:
            await record_audit_event(unit)(scopes=scope, actor=actor_of(connection), record=event)
    return result


async def after_commit(
    connection: ASGIConnection[Any, Any, Any, Any], scope: TenantScope, record: AuditRecord
) -> None:
    """Record a manage-side change that has committed. The change stands whatever
    happens here: an event that cannot be written is logged (as an error), not raised."""
    try:
        await record_audit_event(app_state(connection.app).runtime)(
            scopes=scope, actor=actor_of(connection), record=record
        )
    except Exception:
        log.exception(
            "audit event %s of %s %s (tenant %s) was not recorded",
            record.action,
            record.target_kind,
            record.target_id,
            scope.tenant_id,
        )


async def failed_authentication(connection: ASGIConnection[Any, Any, Any, Any], key: str) -> None:
    """Count a refused credential (see ``key_failures``). Never raises: the caller is
    answered 401 whatever the accounting does."""
    try:
        await app_state(connection.app).failures.record(key=key, actor=actor_of(connection))
    except Exception:
        log.exception("a failed authentication could not be counted")
