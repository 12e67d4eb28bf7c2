"""The security audit log: who did what to which resource of a tenant, when and from
where (table ``audit_events``).

Events are appended by ``record_audit_event``, given a writing unit so the event
commits (or rolls back) with the change it describes, and read by
``list_audit_events``. Nothing updates them; they go only with their tenant (no
retention setting removes them, and deleting a project keeps the events naming it).
An event's detail never holds a secret: callers put none there, and
``record_audit_event`` redacts any value shaped like an API key or a key hash (a key
named like one, say) rather than store it.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, func, select

from agentfold_core.data_access.crud import Entity
from agentfold_core.data_access.doors import Db, reading, writing
from agentfold_core.db.runtime.schema import (
    CLIENT_ADDRESS_MAX_LENGTH,
    USER_AGENT_MAX_LENGTH,
    AuditEvent,
    AuditEventRow,
)
from agentfold_core.errors import ValidationFailed, field_error
from agentfold_core.pagination import DEFAULT_LIMIT, MAX_LIMIT, MAX_PAGE, Page, Pagination
from agentfold_core.scopes import TenantScope
from agentfold_core.secrets.api_keys import parse_key

AUDIT_EVENTS: Entity[AuditEventRow] = Entity(
    AuditEvent, label="audit_event", plural="audit_events", path="audit-events"
)
get_audit_event = AUDIT_EVENTS.get


class AuditAction(StrEnum):
    """The stable action codes: clients filter and alert on them, so they never change."""

    API_KEY_CREATED = "api_key.created"
    API_KEY_REVOKED = "api_key.revoked"
    API_KEY_USED_AFTER_EXPIRY = "api_key.used_after_expiry"
    API_KEY_USED_AFTER_REVOCATION = "api_key.used_after_revocation"
    AUTH_FAILED = "auth.failed"
    SECRET_CREATED = "secret.created"  # noqa: S105 - an action code, not a secret
    SECRET_REPLACED = "secret.replaced"  # noqa: S105 - an action code, not a secret
    SECRET_DELETED = "secret.deleted"  # noqa: S105 - an action code, not a secret
    BRANCH_DELETED = "branch.deleted"
    MERGE_COMPLETED = "merge.completed"


AUDIT_ACTIONS: frozenset[str] = frozenset(AuditAction)
OPERATOR = "operator"
UNKNOWN = "unknown"
# Columns the audit list filters on by equality (time goes by since/until).
FILTERS = ("action", "principal", "target_kind", "target_id", "project_id")
_BOUNDS = {"client_address": CLIENT_ADDRESS_MAX_LENGTH, "user_agent": USER_AGENT_MAX_LENGTH}
_TOTAL = "_agentfold_total"


def key_principal(api_key_id: str) -> str:
    """How the audit names a caller holding API key ``api_key_id``."""
    return f"api-key:{api_key_id}"


def _clip(name: str, value: str | None) -> str | None:
    # Request headers are the client's to choose: cut to the column (and rid of NULs,
    # which no text column takes) rather than fail the change being audited.
    if value is None:
        return None
    return value.replace("\x00", "")[: _BOUNDS[name]] or None


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted and from where: a principal (``key_principal``, ``OPERATOR`` or
    ``UNKNOWN``), the client's address and user agent."""

    principal: str
    client_address: str | None = None
    user_agent: str | None = None

    def __post_init__(self) -> None:
        for name in _BOUNDS:
            object.__setattr__(self, name, _clip(name, getattr(self, name)))

    def as_(self, principal: str) -> Actor:
        """The same client, named ``principal``."""
        return Actor(principal, self.client_address, self.user_agent)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """What happened (an action code) to which resource, with a small detail."""

    action: AuditAction
    target_kind: str | None = None
    target_id: str | None = None
    project_id: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


REDACTED = "[redacted]"


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        looks_secret = parse_key(value.strip()) is not None or "scrypt$" in value
        return REDACTED if looks_secret else value
    if isinstance(value, Mapping):
        return {str(k): _redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(v) for v in value]
    return value


def record_audit_event(runtime: Db) -> Callable[..., Awaitable[AuditEventRow]]:
    """Curried: append one event of the tenant (in the unit's transaction when given
    one); ``ValueError`` for an unknown action."""

    async def _record(*, scopes: TenantScope, actor: Actor, record: AuditRecord) -> AuditEventRow:
        if record.action not in AUDIT_ACTIONS:
            raise ValueError(f"unknown audit action {record.action!r}")
        data = {
            "action": str(record.action),
            "principal": actor.principal,
            "target_kind": record.target_kind,
            "target_id": record.target_id,
            "project_id": record.project_id,
            "client_address": actor.client_address,
            "user_agent": actor.user_agent,
            "detail": _redacted(record.detail) or None,
        }
        # An event is a row of the tenant, whatever scope the change had.
        async with writing(runtime, TenantScope(scopes.tenant_id)) as access:
            return await AUDIT_EVENTS.insert_row(
                access, AUDIT_EVENTS.insert_values(access.target, data)
            )

    return _record


def _conditions(
    tenant_id: str,
    where: Mapping[str, Any] | None,
    since: datetime | None,
    until: datetime | None,
) -> list[ColumnElement[bool]]:
    table = AUDIT_EVENTS.table
    unknown = sorted(set(where or {}) - set(FILTERS))
    if unknown:
        raise ValidationFailed(
            f"cannot filter audit_event by {unknown[0]!r}",
            errors=[field_error(n, "not a filterable column", "not_filterable") for n in unknown],
            resource=AUDIT_EVENTS.label,
        )
    bad = sorted(n for n, v in (where or {}).items() if not isinstance(v, str) or "\x00" in v)
    if bad:
        raise ValidationFailed(
            f"invalid filter on audit_event.{bad[0]}",
            errors=[field_error(n, "must be text without NUL characters", "string") for n in bad],
            resource=AUDIT_EVENTS.label,
        )
    conditions = [table.c.tenant_id == tenant_id]
    conditions += [table.c[name] == value for name, value in (where or {}).items()]
    if since is not None:
        conditions.append(table.c.created_at >= _aware(since))
    if until is not None:
        conditions.append(table.c.created_at < _aware(until))
    return conditions


def _aware(moment: datetime) -> datetime:
    # A time without a zone is taken as UTC, the zone of every stored time.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def list_audit_events(runtime: Db) -> Callable[..., Awaitable[Page[AuditEventRow]]]:
    """Curried: one page of the tenant's events, newest first, filtered by ``where``
    (equality on ``FILTERS``) and by time: ``since`` (inclusive) up to ``until``
    (exclusive)."""

    async def _list(
        *,
        scopes: TenantScope,
        page: int = 1,
        limit: int = DEFAULT_LIMIT,
        where: Mapping[str, Any] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Page[AuditEventRow]:
        for name, value, most in (("page", page, MAX_PAGE), ("limit", limit, MAX_LIMIT)):
            if not 1 <= value <= most:
                message = f"must be 1..{most}"
                raise ValidationFailed(
                    f"{name} {message}", errors=[field_error(name, message, "range")]
                )
        table = AUDIT_EVENTS.table
        conditions = _conditions(scopes.tenant_id, where, since, until)
        count = select(func.count()).select_from(table).where(*conditions)
        # The total rides along as a scalar subquery: one round trip per page.
        stmt = (
            select(table, count.scalar_subquery().label(_TOTAL))
            .where(*conditions)
            .order_by(table.c.created_at.desc(), table.c.id.desc())
            .limit(limit)
            .offset((page - 1) * limit)
        )
        async with reading(runtime, scopes) as access:
            rows = (await access.conn.execute(stmt)).mappings().all()
            if rows:
                total = int(rows[0][_TOTAL])
            else:
                total = int((await access.conn.execute(count)).scalar_one())
        return Page[AuditEventRow](
            data=[AUDIT_EVENTS.row({k: v for k, v in r.items() if k != _TOTAL}) for r in rows],
            pagination=Pagination(
                page=page, limit=limit, total=total, pages=math.ceil(total / limit)
            ),
        )

    return _list
