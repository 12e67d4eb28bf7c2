"""Failed authentication attempts: what a refused credential was, and their accounting.

Verification (``api_keys.verify_api_key``) answers ``None`` for every failure and
stays as cheap as it is; only once it has failed does ``classify_failed_key`` tell why
(one read by public id and an HMAC, never scrypt again). ``FailedAttempts`` then
counts the attempt against the key it names:

- A known key's attempts add to its ``failed_attempts`` and write audit events
  (``auth.failed`` for a wrong secret, ``api_key.used_after_expiry`` /
  ``used_after_revocation`` when the right secret came with a dead key). Writes are
  throttled per key: the first failure writes at once; later ones within
  ``FAILED_ATTEMPT_WINDOW`` are counted in memory and written, as one event per action
  with their number in ``detail.attempts``, by the next failure after the window, by
  ``flush`` (the service calls it when it stops) or when the key leaves the bounded
  table. A flood with a known public id thus costs one write per key and window per
  process. Counts still in memory when a process dies are lost.
- A malformed token or an unknown public id names no tenant, so nothing is stored (a
  tenant-less row would let anyone fill the database): it is a warning on the
  ``agentfold.audit`` logger, at most ``log_limit`` lines per window, then one line
  saying how many were left out. The token itself is never logged.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from sqlalchemy import update

from agentfold_core.data_access.doors import Db, writing
from agentfold_core.data_access.runtime.api_keys import API_KEYS, public, read_key, verified_before
from agentfold_core.data_access.runtime.audit_events import (
    UNKNOWN,
    Actor,
    AuditAction,
    AuditRecord,
    key_principal,
    record_audit_event,
)
from agentfold_core.db.runtime.schema import ApiKeyPublic
from agentfold_core.db.types import utcnow
from agentfold_core.scopes import TenantScope
from agentfold_core.secrets.api_keys import parse_key

log = logging.getLogger("agentfold.audit")

FailureReason = Literal["malformed", "unknown", "wrong_secret", "expired", "revoked"]
# The audit action of each failure that names a key.
ACTIONS: dict[str, AuditAction] = {
    "wrong_secret": AuditAction.AUTH_FAILED,
    "expired": AuditAction.API_KEY_USED_AFTER_EXPIRY,
    "revoked": AuditAction.API_KEY_USED_AFTER_REVOCATION,
}
FAILED_ATTEMPT_WINDOW = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class KeyFailure:
    """Why a credential was refused, and the key it named (when it named one)."""

    reason: FailureReason
    public_id: str | None = None
    key: ApiKeyPublic | None = None


def classify_failed_key(runtime: Db) -> Callable[..., Awaitable[KeyFailure]]:
    """Curried: why ``key`` failed verification. For the failure path only: one read by
    public id and no scrypt (the right secret of an expired or revoked key is known to
    this process from the verification that just refused it)."""

    async def _classify(*, key: str) -> KeyFailure:
        parsed = parse_key(key)
        if parsed is None:
            return KeyFailure("malformed")
        public_id, secret = parsed
        found = await read_key(runtime, public_id)
        if found is None:
            return KeyFailure("unknown", public_id)
        shown, key_hash = found
        if shown.revoked_at is not None:
            dead: FailureReason | None = "revoked"
        elif shown.expires_at is not None and shown.expires_at <= utcnow():
            dead = "expired"
        else:
            # A live key that failed verification: its secret was wrong.
            dead = None
        if dead is None or not verified_before(secret, key_hash):
            return KeyFailure("wrong_secret", public_id, shown)
        return KeyFailure(dead, public_id, shown)

    return _classify


def count_failed_attempts(runtime: Db) -> Callable[..., Awaitable[ApiKeyPublic | None]]:
    """Curried: add ``attempts`` (by failure reason) to a key's failed attempts and write
    one audit event per reason, in one transaction; ``None`` when the key is gone."""

    async def _count(
        *, scopes: TenantScope, api_key_id: str, attempts: Mapping[str, int], actor: Actor
    ) -> ApiKeyPublic | None:
        table = API_KEYS.table
        now = utcnow()
        async with writing(runtime, scopes) as access:
            key = API_KEYS.key(access.target, {"api_key_id": api_key_id})
            changed = await access.conn.execute(
                update(table)
                .where(*(table.c[name] == value for name, value in key.items()))
                .values(
                    failed_attempts=table.c.failed_attempts + sum(attempts.values()),
                    last_failed_at=now,
                )
                .returning(*table.c)
            )
            mapping = changed.mappings().first()
            if mapping is None:
                return None
            row = public(mapping)
            for reason, number in sorted(attempts.items()):
                # Whoever sent a dead key's right secret holds that key; a wrong secret
                # proves nothing about the caller.
                named = key_principal(api_key_id) if reason != "wrong_secret" else UNKNOWN
                record = AuditRecord(
                    ACTIONS[reason],
                    target_kind="api_key",
                    target_id=api_key_id,
                    project_id=row.project_id,
                    detail={"reason": reason, "attempts": number},
                )
                await record_audit_event(access.unit)(
                    scopes=scopes, actor=actor.as_(named), record=record
                )
        return row

    return _count


@dataclass
class _Pending:
    """One key's attempts not yet written, and when it was last written."""

    counts: Counter[str] = field(default_factory=Counter)
    actor: Actor = field(default_factory=lambda: Actor(UNKNOWN))
    written_at: float | None = None


class _ThrottledLog:
    """Warnings of failures naming no key: at most ``limit`` per window."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._started = clock()
        self._logged = 0
        self._left_out = 0

    def note(self, failure: KeyFailure, actor: Actor) -> None:
        """Log one failure (never the token), or count it when over the limit."""
        now = self._clock()
        if now - self._started >= self._window:
            if self._left_out:
                log.warning(
                    "authentication failures: %d more without a known key were not logged",
                    self._left_out,
                )
            self._started, self._logged, self._left_out = now, 0, 0
        if self._logged >= self._limit:
            self._left_out += 1
            return
        self._logged += 1
        named = f" (public id {failure.public_id})" if failure.public_id else ""
        log.warning(
            "authentication failed: %s credential%s from %s, user agent %r",
            failure.reason,
            named,
            actor.client_address or "an unknown address",
            actor.user_agent,
        )


class FailedAttempts:
    """Counts failed authentication attempts per key, throttled (see the module)."""

    def __init__(
        self,
        runtime: Db,
        *,
        window: timedelta = FAILED_ATTEMPT_WINDOW,
        capacity: int = 4096,
        log_limit: int = 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runtime = runtime
        self._window = window.total_seconds()
        self._capacity = capacity
        self._clock = clock
        # By (tenant, key id): key ids are unique within a tenant only.
        self._pending: OrderedDict[tuple[str, str], _Pending] = OrderedDict()
        self._log = _ThrottledLog(log_limit, self._window or 60.0, clock)

    async def record(self, *, key: str, actor: Actor) -> KeyFailure:
        """Classify a credential that failed verification and count it."""
        failure = await classify_failed_key(self.runtime)(key=key)
        if failure.key is None:
            self._log.note(failure, actor)
            return failure
        slot = (failure.key.tenant_id, failure.key.id)
        pending = self._pending.setdefault(slot, _Pending())
        self._pending.move_to_end(slot)
        pending.counts[failure.reason] += 1
        pending.actor = actor
        if len(self._pending) > self._capacity:
            oldest_slot, oldest = self._pending.popitem(last=False)
            await self._write(oldest_slot, oldest)
        written = pending.written_at
        if written is None or self._clock() - written >= self._window:
            await self._write(slot, pending)
        return failure

    async def flush(self) -> None:
        """Write every count still in memory."""
        for slot, pending in list(self._pending.items()):
            await self._write(slot, pending)

    async def _write(self, slot: tuple[str, str], pending: _Pending) -> None:
        if not pending.counts:
            return
        attempts = dict(pending.counts)
        pending.counts.clear()
        pending.written_at = self._clock()
        tenant_id, key_id = slot
        await count_failed_attempts(self.runtime)(
            scopes=TenantScope(tenant_id),
            api_key_id=key_id,
            attempts=attempts,
            actor=pending.actor,
        )
