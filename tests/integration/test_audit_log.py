"""The audit log's data layer: events join the change's transaction, details are never
secrets, failed keys are told apart without scrypt, and their accounting is throttled."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from agentfold_core.data_access.doors import transaction
from agentfold_core.data_access.runtime.api_keys import (
    get_api_key,
    issue_api_key,
    revoke_api_key,
    update_api_key,
    verify_api_key,
)
from agentfold_core.data_access.runtime.audit_events import (
    REDACTED,
    Actor,
    AuditAction,
    AuditRecord,
    list_audit_events,
    record_audit_event,
)
from agentfold_core.data_access.runtime.key_failures import FailedAttempts, classify_failed_key
from agentfold_core.data_access.runtime.project_metadata import update_project_metadata
from agentfold_core.data_access.runtime.retention import enforce_retention
from agentfold_core.data_access.runtime.tenants import create_tenant
from agentfold_core.db.types import utcnow
from agentfold_core.errors import NotFound
from agentfold_core.scopes import TenantScope
from tests.conftest import Ids
from tests.integration.test_runs import project
from tests.support.databases import TestDatabases
from tests.support.secret_scan import register_secret

WHO = Actor("operator", client_address="192.0.2.1", user_agent="tests")


async def _tenant(databases: TestDatabases, ids: Ids) -> TenantScope:
    scope = TenantScope(ids.tenant)
    await create_tenant(databases.runtime)(scopes=scope, data={"name": "T"})
    return scope


async def _key(databases: TestDatabases, scope: TenantScope) -> tuple[str, str]:
    issued = await issue_api_key(databases.runtime)(scopes=scope, data={"role": "admin"})
    register_secret(issued.key)
    return issued.row.id, issued.key


async def test_an_event_rolls_back_with_its_change(databases: TestDatabases, ids: Ids) -> None:
    scope = await _tenant(databases, ids)
    record = AuditRecord(AuditAction.API_KEY_REVOKED, target_kind="api_key", target_id="nope")

    async def revoke_missing() -> None:
        async with transaction(databases.runtime) as unit:
            await record_audit_event(unit)(scopes=scope, actor=WHO, record=record)
            await revoke_api_key(unit)(scopes=scope, api_key_id="nope")

    with pytest.raises(NotFound):
        await revoke_missing()
    assert (await list_audit_events(databases.runtime)(scopes=scope)).pagination.total == 0


async def test_details_never_hold_a_key_or_a_hash(databases: TestDatabases, ids: Ids) -> None:
    scope = await _tenant(databases, ids)
    _, plaintext = await _key(databases, scope)
    detail = {"name": plaintext, "nested": ["scrypt$16384$8$1$c2FsdA$aGFzaA", 3], "role": "x"}
    record = AuditRecord(AuditAction.API_KEY_CREATED, detail=detail)
    row = await record_audit_event(databases.runtime)(scopes=scope, actor=WHO, record=record)
    assert row.detail == {"name": REDACTED, "nested": [REDACTED, 3], "role": "x"}
    bad = AuditRecord("key.stolen")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown audit action"):
        await record_audit_event(databases.runtime)(scopes=scope, actor=WHO, record=bad)


async def test_headers_are_cut_to_their_columns(databases: TestDatabases, ids: Ids) -> None:
    scope = await _tenant(databases, ids)
    actor = Actor("unknown", client_address="1" * 100, user_agent="a\x00b" + "c" * 1000)
    record = AuditRecord(AuditAction.AUTH_FAILED)
    row = await record_audit_event(databases.runtime)(scopes=scope, actor=actor, record=record)
    assert row.client_address == "1" * 64
    assert row.user_agent is not None
    assert row.user_agent.startswith("abc")
    assert len(row.user_agent) == 512


async def test_failed_keys_are_told_apart(databases: TestDatabases, ids: Ids) -> None:
    scope = await _tenant(databases, ids)
    runtime = databases.runtime
    classify = classify_failed_key(runtime)
    live_id, live = await _key(databases, scope)
    public_id = live.split(".")[0]
    assert (await classify(key="nonsense")).reason == "malformed"
    assert (await classify(key=live[:-1])).reason == "malformed"
    unknown = await classify(key=f"af_{'z' * 16}.{'A' * 43}")
    assert (unknown.reason, unknown.public_id, unknown.key) == ("unknown", "z" * 16, None)
    wrong = await classify(key=f"{public_id}.{'A' * 43}")
    assert (wrong.reason, wrong.key and wrong.key.id) == ("wrong_secret", live_id)

    dead_id, dead = await _key(databases, scope)
    await update_api_key(runtime)(
        scopes=scope, api_key_id=dead_id, data={"expires_at": utcnow() - timedelta(seconds=1)}
    )
    assert await verify_api_key(runtime)(key=dead) is None
    assert (await classify(key=dead)).reason == "expired"
    assert (await classify(key=f"{dead.split('.')[0]}.{'A' * 43}")).reason == "wrong_secret"

    gone_id, gone = await _key(databases, scope)
    await revoke_api_key(runtime)(scopes=scope, api_key_id=gone_id)
    assert await verify_api_key(runtime)(key=gone) is None
    assert (await classify(key=gone)).reason == "revoked"


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_attempts_are_written_once_per_key_and_window(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await _tenant(databases, ids)
    runtime = databases.runtime
    key_id, key = await _key(databases, scope)
    wrong = f"{key.split('.')[0]}.{'A' * 43}"
    clock = _Clock()
    attempts = FailedAttempts(runtime, window=timedelta(seconds=60), clock=clock)

    async def failures() -> int:
        row = await get_api_key(runtime)(scopes=scope, api_key_id=key_id)
        assert row is not None
        return row.failed_attempts

    for _ in range(3):
        await attempts.record(key=wrong, actor=WHO.as_("unknown"))
    assert await failures() == 1
    clock.now += 61
    await attempts.record(key=wrong, actor=WHO.as_("unknown"))
    assert await failures() == 4
    await attempts.record(key=wrong, actor=WHO.as_("unknown"))
    await attempts.flush()
    assert await failures() == 5
    await attempts.flush()  # nothing pending: nothing written
    events = await list_audit_events(runtime)(scopes=scope, where={"action": "auth.failed"})
    assert [e.detail for e in events.data] == [
        {"reason": "wrong_secret", "attempts": 1},
        {"reason": "wrong_secret", "attempts": 3},
        {"reason": "wrong_secret", "attempts": 1},
    ]


async def test_failures_naming_no_key_are_logged_at_most_so_often(
    databases: TestDatabases, caplog: pytest.LogCaptureFixture
) -> None:
    clock = _Clock()
    attempts = FailedAttempts(databases.runtime, log_limit=2, clock=clock)
    with caplog.at_level(logging.WARNING, logger="agentfold.audit"):
        for _ in range(5):
            await attempts.record(key="garbage", actor=WHO)
        clock.now += 61
        await attempts.record(key="garbage", actor=WHO)
    lines = [r.getMessage() for r in caplog.records if r.name == "agentfold.audit"]
    assert lines == [
        "authentication failed: malformed credential from 192.0.2.1, user agent 'tests'",
        "authentication failed: malformed credential from 192.0.2.1, user agent 'tests'",
        "authentication failures: 3 more without a known key were not logged",
        "authentication failed: malformed credential from 192.0.2.1, user agent 'tests'",
    ]


async def test_retention_keeps_audit_events(databases: TestDatabases, ids: Ids) -> None:
    scope = await project(databases, ids.tenant, ids.project)
    await update_project_metadata(databases.runtime)(
        scopes=scope,
        data={"retention_run_days": 1, "retention_message_days": 1, "retention_event_days": 1},
    )
    record = AuditRecord(AuditAction.SECRET_DELETED, project_id=ids.project)
    row = await record_audit_event(databases.runtime)(scopes=scope, actor=WHO, record=record)
    await enforce_retention(
        databases.runtime, now=utcnow() + timedelta(days=400), tenant_id=ids.tenant
    )
    kept = await list_audit_events(databases.runtime)(scopes=TenantScope(ids.tenant))
    assert [e.id for e in kept.data] == [row.id]
