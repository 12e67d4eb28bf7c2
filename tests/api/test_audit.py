"""The security audit log over HTTP: every event kind with who, what, when and where;
nothing recorded for a failed request; failed attempts counted per key, throttled,
with nothing added to a successful authentication; the list route's reach."""

from __future__ import annotations

import base64
import logging
import os
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from pydantic import SecretStr

from agentfold_api.app import create_app
from agentfold_api.settings import ApiSettings
from agentfold_api.state import app_state
from agentfold_core.data_access.doors import Unit, add_listener, remove_listener
from agentfold_core.settings import DatabaseSettings, SecretSettings
from tests.support.api import OPERATOR_TOKEN, Caller, Service
from tests.support.credentials import SECRET_VALUE
from tests.support.databases import TestDatabases
from tests.support.secret_scan import SCAN

AGENT = "audit-test/1.0"


@pytest.fixture
async def keyed(databases: TestDatabases) -> AsyncIterator[Service]:
    """The service with a master key, so secrets go to the encrypted store."""
    settings = DatabaseSettings(
        manage_database_url=databases.manage_url, runtime_database_url=databases.runtime_url
    )
    keys = SecretStr(f"k1:{base64.b64encode(os.urandom(32)).decode()}")
    app = create_app(
        settings, ApiSettings(admin_token=OPERATOR_TOKEN), SecretSettings(secret_keys=keys)
    )
    async with AsyncTestClient(app=app) as client:
        yield Service(client)


class _Writes:
    """Counts the write transactions of a database."""

    def __init__(self) -> None:
        self.count = 0

    async def begin(self, unit: Unit) -> None:
        """One more write transaction."""
        self.count += 1

    async def before_commit(self, unit: Unit) -> None:
        """Nothing to add."""


def _tenant() -> str:
    return f"t-{secrets.token_hex(4)}"


async def _admin(service: Service, tenant: str) -> tuple[Caller, str]:
    issued = await service.issue(tenant, {"role": "admin"})
    return service.with_token(issued["key"]), issued["id"]


async def _events(caller: Caller, tenant: str, **params: Any) -> list[dict[str, Any]]:
    listed = await caller.get(
        f"/manage/tenants/{tenant}/audit-events", params={"limit": 100, **params}
    )
    assert listed.status_code == 200, listed.text
    for secret in SCAN.secrets:
        assert secret not in listed.text
    data: list[dict[str, Any]] = listed.json()["data"]
    return data


def _recent(event: dict[str, Any]) -> bool:
    at = datetime.fromisoformat(event["created_at"])
    return datetime.now(UTC) - timedelta(minutes=5) < at <= datetime.now(UTC)


async def test_key_issue_and_revoke_are_recorded_with_who_what_when_where(
    service: Service,
) -> None:
    tenant = _tenant()
    admin, admin_id = await _admin(service, tenant)
    runner = await service.issue(
        tenant,
        {"role": "admin", "name": "ci"},
        by=Caller(admin.client, admin.token),
    )
    headers = {"user-agent": AGENT}
    revoked = await admin.delete(
        f"/manage/tenants/{tenant}/api-keys/{runner['id']}", headers=headers
    )
    assert revoked.status_code == 204
    again = await admin.delete(f"/manage/tenants/{tenant}/api-keys/{runner['id']}")
    assert again.status_code == 204
    missing = await admin.delete(f"/manage/tenants/{tenant}/api-keys/no-such-key")
    assert missing.status_code == 404

    events = await _events(service.operator, tenant)
    assert [(e["action"], e["principal"], e["target_id"]) for e in events] == [
        ("api_key.revoked", f"api-key:{admin_id}", runner["id"]),
        ("api_key.created", f"api-key:{admin_id}", runner["id"]),
        ("api_key.created", "operator", admin_id),
    ]
    revoke, created = events[0], events[1]
    assert revoke["target_kind"] == "api_key"
    assert revoke["user_agent"] == AGENT
    assert revoke["client_address"] == "testclient"
    assert revoke["detail"] == {"role": "admin", "name": "ci"}
    assert created["detail"] == {
        "role": "admin",
        "name": "ci",
        "agent_id": None,
        "expires_at": None,
    }
    assert all(_recent(e) for e in events)
    assert "tenant_id" not in revoke


async def test_filters_and_pages(service: Service) -> None:
    tenant = _tenant()
    admin, admin_id = await _admin(service, tenant)
    for name in ("a", "b", "c"):
        await service.issue(tenant, {"role": "admin", "name": name}, by=admin)
    url = f"/manage/tenants/{tenant}/audit-events"
    by_admin = await _events(admin, tenant, principal=f"api-key:{admin_id}")
    assert [e["detail"]["name"] for e in by_admin] == ["c", "b", "a"]
    assert len(await _events(admin, tenant, action="api_key.revoked")) == 0
    assert len(await _events(admin, tenant, action="api_key.created")) == 4
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert await _events(admin, tenant, since=later.isoformat()) == []
    assert len(await _events(admin, tenant, until=later.isoformat())) == 4
    page = await admin.get(url, params={"limit": 1, "page": 2})
    assert page.json()["pagination"] == {"page": 2, "limit": 1, "total": 4, "pages": 4}
    assert page.json()["data"][0]["detail"]["name"] == "b"
    unknown = await admin.get(url, params={"colour": "red"})
    assert unknown.status_code == 400 or unknown.status_code == 422


async def test_only_admins_of_the_tenant_and_the_operator_see_it(service: Service) -> None:
    tenant = _tenant()
    admin, _ = await _admin(service, tenant)
    base = f"/manage/tenants/{tenant}/projects"
    assert (await admin.post(base, json={"id": "shop", "name": "Shop"})).status_code == 201
    url = f"/manage/tenants/{tenant}/audit-events"
    for role in ("editor", "viewer", "runner"):
        caller = await service.key(tenant, role, project="shop")
        refused = await caller.get(url)
        assert refused.status_code == 403, role
    stranger, _ = await _admin(service, _tenant())
    hidden = await stranger.get(url)
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "not_found"
    assert (await service.operator.get(url)).status_code == 200
    assert (await service.anonymous.get(url)).status_code == 401


async def test_secret_changes_are_recorded_never_their_value(keyed: Service) -> None:
    tenant = _tenant()
    admin, admin_id = await _admin(keyed, tenant)
    project = f"/manage/tenants/{tenant}/projects/shop"
    made = await admin.post(f"/manage/tenants/{tenant}/projects", json={"id": "shop", "name": "S"})
    assert made.status_code == 201
    for reference, kind in (("openai", "encrypted"), ("scratch", "memory")):
        body = {"id": reference, "name": reference, "type": kind}
        assert (await admin.post(f"{project}/credentials", json=body)).status_code == 201
    for reference in ("openai", "scratch"):
        secret = f"{project}/credentials/{reference}/secret"
        assert (await admin.put(secret, json={"value": SECRET_VALUE})).status_code == 200
        replaced = await admin.put(secret, json={"value": SECRET_VALUE + "-2"})
        assert replaced.status_code == 200
        assert (await admin.delete(secret)).status_code == 204
        # Nothing left to delete: a 404, and no event.
        assert (await admin.delete(secret)).status_code == 404

    events = await _events(admin, tenant, target_kind="credential_secret")
    assert [(e["action"], e["target_id"]) for e in events] == [
        ("secret.deleted", "scratch"),
        ("secret.replaced", "scratch"),
        ("secret.created", "scratch"),
        ("secret.deleted", "openai"),
        ("secret.replaced", "openai"),
        ("secret.created", "openai"),
    ]
    assert {e["principal"] for e in events} == {f"api-key:{admin_id}"}
    assert {e["project_id"] for e in events} == {"shop"}
    assert events[-1]["detail"] == {"store": "encrypted", "store_id": "default", "key": "openai"}


async def test_a_failed_secret_write_records_nothing(keyed: Service) -> None:
    tenant = _tenant()
    admin, _ = await _admin(keyed, tenant)
    project = f"/manage/tenants/{tenant}/projects/shop"
    await admin.post(f"/manage/tenants/{tenant}/projects", json={"id": "shop", "name": "S"})
    body = {"id": "shell", "name": "shell", "type": "env"}
    assert (await admin.post(f"{project}/credentials", json=body)).status_code == 201
    refused = await admin.put(f"{project}/credentials/shell/secret", json={"value": SECRET_VALUE})
    assert refused.status_code == 409
    assert (await admin.delete(f"{project}/credentials/shell/secret")).status_code == 409
    assert await _events(admin, tenant, target_kind="credential_secret") == []


async def test_merges_and_branch_deletions_after_they_commit(service: Service) -> None:
    tenant = _tenant()
    admin, admin_id = await _admin(service, tenant)
    project = f"/manage/tenants/{tenant}/projects/shop"
    await admin.post(f"/manage/tenants/{tenant}/projects", json={"id": "shop", "name": "S"})
    agent = f"{project}/agents/triage"
    await admin.post(f"{project}/agents", json={"id": "triage", "name": "Triage"})
    assert (await admin.post(f"{project}/branches", json={"name": "tone"})).status_code == 201
    await admin.patch(agent, json={"prompt": "Be brief."}, params={"ref": "tone"})
    await admin.patch(agent, json={"prompt": "Be thorough."})

    conflict = await admin.post(f"{project}/merge", json={"from_ref": "tone"})
    assert conflict.status_code == 409
    assert await _events(admin, tenant, action="merge.completed") == []

    merged = await admin.post(
        f"{project}/merge",
        json={"from_ref": "tone", "resolutions": {"agents:triage": "theirs"}},
        headers={"user-agent": AGENT},
    )
    assert merged.status_code == 200, merged.text
    deleted = await admin.delete(f"{project}/branches/tone")
    assert deleted.status_code == 204
    assert (await admin.delete(f"{project}/branches/tone")).status_code == 404

    merges = await _events(admin, tenant, action="merge.completed")
    assert len(merges) == 1
    merge = merges[0]
    assert (merge["principal"], merge["target_kind"], merge["target_id"]) == (
        f"api-key:{admin_id}",
        "branch",
        "main",
    )
    assert merge["project_id"] == "shop"
    assert merge["user_agent"] == AGENT
    assert merge["detail"]["from_ref"] == "tone"
    assert merge["detail"]["commit_id"] == merged.json()["commit_id"]
    assert merge["detail"]["resolutions"] == 1
    branches = await _events(admin, tenant, action="branch.deleted")
    assert [(e["target_id"], e["project_id"]) for e in branches] == [("tone", "shop")]


def _wrong_secret(key: str) -> str:
    public_id = key.split(".")[0]
    return f"{public_id}.{'A' * 43}"


async def _failures(service: Service, caller: Caller, tenant: str, key_id: str) -> int:
    shown = await caller.get(f"/manage/tenants/{tenant}/api-keys/{key_id}")
    assert shown.status_code == 200
    count: int = shown.json()["failed_attempts"]
    return count


async def test_failed_attempts_are_counted_with_a_write_per_key_and_window(
    service: Service,
) -> None:
    tenant = _tenant()
    admin, _ = await _admin(service, tenant)
    target = await service.issue(tenant, {"role": "admin", "name": "target"})
    url = f"/manage/tenants/{tenant}"
    writes = _Writes()
    state = app_state(service.client.app)
    add_listener(state.runtime, writes)
    try:
        for _ in range(5):
            bad = service.with_token(_wrong_secret(target["key"]))
            answer = await bad.get(url, headers={"user-agent": AGENT})
            assert answer.status_code == 401
            assert answer.json()["code"] == "unauthorized"
    finally:
        remove_listener(state.runtime, writes)
    # The first failure is written at once; the four in its window wait in memory.
    assert writes.count == 1
    assert await _failures(service, admin, tenant, target["id"]) == 1
    await state.failures.flush()
    shown = await admin.get(f"{url}/api-keys/{target['id']}")
    assert shown.json()["failed_attempts"] == 5
    assert shown.json()["last_failed_at"] is not None

    events = await _events(admin, tenant, action="auth.failed")
    assert [(e["principal"], e["target_id"], e["detail"]) for e in events] == [
        ("unknown", target["id"], {"reason": "wrong_secret", "attempts": 4}),
        ("unknown", target["id"], {"reason": "wrong_secret", "attempts": 1}),
    ]
    assert {e["user_agent"] for e in events} == {AGENT}
    # The key itself still works.
    assert (await service.with_token(target["key"]).get(url)).status_code == 200


async def test_dead_keys_used_with_their_secret(service: Service) -> None:
    tenant = _tenant()
    admin, _ = await _admin(service, tenant)
    url = f"/manage/tenants/{tenant}"
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    expired = await service.issue(tenant, {"role": "admin", "name": "old", "expires_at": past})
    revoked = await service.issue(tenant, {"role": "admin", "name": "gone"})
    assert (await service.with_token(revoked["key"]).get(url)).status_code == 200
    await admin.delete(f"{url}/api-keys/{revoked['id']}")
    for issued in (expired, revoked):
        assert (await service.with_token(issued["key"]).get(url)).status_code == 401
        assert await _failures(service, admin, tenant, issued["id"]) == 1

    events = await _events(admin, tenant)
    found = {(e["action"], e["principal"], e["target_id"]) for e in events}
    assert ("api_key.used_after_expiry", f"api-key:{expired['id']}", expired["id"]) in found
    assert ("api_key.used_after_revocation", f"api-key:{revoked['id']}", revoked["id"]) in found
    assert not any(e["action"] == "auth.failed" for e in events)


async def test_a_successful_authentication_writes_and_classifies_nothing(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = _tenant()
    admin, _ = await _admin(service, tenant)
    url = f"/manage/tenants/{tenant}"
    assert (await admin.get(url)).status_code == 200  # last_used_at set (throttled after)
    state = app_state(service.client.app)

    async def never(**_: Any) -> None:
        raise AssertionError("a verified key went down the failure path")

    monkeypatch.setattr(state.failures, "record", never)
    writes = _Writes()
    add_listener(state.runtime, writes)
    try:
        for _ in range(5):
            assert (await admin.get(url)).status_code == 200
    finally:
        remove_listener(state.runtime, writes)
    assert writes.count == 0


async def test_failures_naming_no_key_are_logged_without_the_token(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    unknown = f"af_{'q' * 16}.{'B' * 43}"
    malformed = "not-a-key-" + secrets.token_hex(8)
    with caplog.at_level(logging.WARNING, logger="agentfold.audit"):
        for token in (unknown, malformed):
            answer = await service.with_token(token).get("/manage/tenants/x")
            assert answer.status_code == 401
    lines = [r.getMessage() for r in caplog.records if r.name == "agentfold.audit"]
    assert any("unknown credential (public id qqqqqqqqqqqqqqqq)" in line for line in lines)
    assert any("malformed credential" in line for line in lines)
    assert not any(unknown in line or malformed in line for line in lines)
