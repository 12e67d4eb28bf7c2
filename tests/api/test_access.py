"""Who may call what: the role table, and the cross-tenant matrix over every route of
the OpenAPI document (a new route cannot be forgotten)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.api import Caller, Service

# The roles allowed per route group (the table): anything else is 403.
ALLOWED = {
    "operator": {"operator"},
    "keys": {"operator", "admin"},
    "tenant": {"operator", "admin"},
    "projects": {"admin"},
    "read": {"admin", "editor", "viewer"},
    "write": {"admin", "editor"},
    "run": {"runner"},
}
ROLES = ("operator", "admin", "editor", "viewer", "runner")
PUBLIC = {"/health/live", "/health/ready"}


@dataclass
class World:
    """Tenant A with project ``shop`` (an agent, a sub-agent, a tag, a branch), and
    callers of every role, of another tenant, and of another project."""

    tenant: str
    callers: dict[str, Caller]
    other_tenant: Caller
    other_project: Caller
    key_id: str
    service: Service


async def _world(service: Service) -> World:
    token = secrets.token_hex(4)
    tenant = f"t-{token}"
    admin = await service.key(tenant, "admin")
    base = f"/manage/tenants/{tenant}/projects"
    assert (await admin.post(base, json={"id": "shop", "name": "Shop"})).status_code == 201
    assert (await admin.post(base, json={"id": "other", "name": "Other"})).status_code == 201
    project = f"{base}/shop"
    await admin.post(f"{project}/agents", json={"id": "triage", "name": "Triage"})
    await admin.post(f"{project}/agents/triage/sub-agents", json={"id": "router", "name": "R"})
    await admin.post(f"{project}/tags", json={"name": "v1"})
    await admin.post(f"{project}/branches", json={"name": "side"})
    callers = {
        "operator": service.operator,
        "admin": admin,
        "editor": await service.key(tenant, "editor", project="shop"),
        "viewer": await service.key(tenant, "viewer", project="shop"),
        "runner": await service.key(tenant, "runner", project="shop"),
    }
    keys = await admin.get(f"/manage/tenants/{tenant}/api-keys", params={"limit": 1})
    return World(
        tenant=tenant,
        callers=callers,
        other_tenant=await service.key(f"u-{token}", "admin"),
        other_project=await service.key(tenant, "editor", project="other"),
        key_id=keys.json()["data"][0]["id"],
        service=service,
    )


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"} and path not in PUBLIC:
                found.append((method.upper(), path, operation))
    return found


def _url(path: str, world: World) -> str:
    values = {
        "tenant_id": world.tenant,
        "project_id": "shop",
        "agent_id": "triage",
        "sub_agent_id": "router",
        "branch": "side",
        "tag": "v1",
        "api_key_id": world.key_id,
    }
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "some-id"), path)


async def _state(world: World) -> dict[str, Any]:
    admin = world.callers["admin"]
    project = f"/manage/tenants/{world.tenant}/projects/shop"
    full = await admin.get(f"/manage/tenants/{world.tenant}/project-full/shop")
    branches = await admin.get(f"{project}/branches")
    tags = await admin.get(f"{project}/tags")
    keys = await admin.get(f"/manage/tenants/{world.tenant}/api-keys", params={"limit": 100})
    projects = await admin.get(f"/manage/tenants/{world.tenant}/projects", params={"limit": 100})
    tenant = await world.service.operator.get(f"/manage/tenants/{world.tenant}")
    return {
        "full": full.json(),
        "branches": branches.json(),
        "tags": tags.json(),
        "keys": [(k["id"], k["revoked_at"], k["name"]) for k in keys.json()["data"]],
        "projects": [p["id"] for p in projects.json()["data"]],
        "tenant": tenant.json(),
    }


def _access(service: Service, method: str, path: str) -> str:
    for route in service.client.app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if route.path_format == path and method in handler.http_methods:
                return str(handler.opt["access"])
    raise AssertionError(f"no handler for {method} {path}")


async def test_cross_tenant_and_cross_project_matrix(service: Service) -> None:
    world = await _world(service)
    document = (await service.anonymous.get("/openapi.json")).json()
    operations = _operations(document)
    assert len(operations) > 100
    before = await _state(world)
    failures = []
    for method, path, _ in operations:
        access = _access(service, method, path)
        url = _url(path, world)
        for name, caller in (
            ("other tenant", world.other_tenant),
            ("other project", world.other_project),
        ):
            role = "admin" if name == "other tenant" else "editor"
            answer = await caller.request(method, url, json={})
            if role not in ALLOWED[access]:
                expected = {403}
            elif "{tenant_id}" not in path:
                continue  # not tenant-addressed (creating a tenant is the operator's)
            elif name == "other project" and "{project_id}" not in path:
                # Tenant-wide routes a project key may call list its own project only.
                expected = {200}
                if answer.status_code == 200 and "shop" in answer.text:
                    failures.append(f"{name}: {method} {path} shows project shop")
            else:
                expected = {404}
            if answer.status_code not in expected:
                failures.append(
                    f"{name}: {method} {path} -> {answer.status_code} {answer.text[:120]}"
                )
            elif answer.status_code == 404 and answer.json()["code"] != "not_found":
                failures.append(f"{name}: {method} {path} 404 without not_found code")
    assert failures == []
    assert await _state(world) == before


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_is_allowed_exactly_its_groups(service: Service, role: str) -> None:
    world = await _world(service)
    document = (await service.anonymous.get("/openapi.json")).json()
    caller = world.callers[role]
    before = await _state(world)
    wrong = []
    for method, path, _ in _operations(document):
        access = _access(service, method, path)
        allowed = role in ALLOWED[access]
        if method != "GET" and allowed:
            continue  # allowed writes are exercised by the route tests, not blindly here
        answer = await caller.request(method, _url(path, world), json={})
        assert answer.status_code != 401
        if (answer.status_code == 403) == allowed:
            wrong.append(f"{role}: {method} {path} ({access}) -> {answer.status_code}")
    assert wrong == []
    # Every refused write changed nothing.
    assert await _state(world) == before


async def test_viewer_cannot_write_and_editor_cannot_create_projects(service: Service) -> None:
    world = await _world(service)
    project = f"/manage/tenants/{world.tenant}/projects/shop"
    viewer, editor = world.callers["viewer"], world.callers["editor"]
    before = await _state(world)
    assert (await viewer.patch(f"{project}/agents/triage", json={"name": "X"})).status_code == 403
    assert (await viewer.post(f"{project}/merge", json={"from_ref": "side"})).status_code == 403
    made = await editor.post(
        f"/manage/tenants/{world.tenant}/projects", json={"id": "n", "name": "N"}
    )
    assert made.status_code == 403
    assert (await editor.delete(project)).status_code == 403
    assert await _state(world) == before


async def test_credentials_are_required_and_checked(service: Service) -> None:
    world = await _world(service)
    url = f"/manage/tenants/{world.tenant}/projects/shop/agents/triage"
    missing = await service.anonymous.get(url)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.json()["code"] == "unauthorized"
    for token in ("nonsense", "af_" + "a" * 16 + "." + "b" * 43, ""):
        answer = await service.with_token(token).get(url)
        assert answer.status_code == 401, token
    basic = await service.anonymous.get(url, headers={"authorization": "Basic abc"})
    assert basic.status_code == 401


async def test_revoked_and_expired_keys_stop_at_the_next_request(service: Service) -> None:
    world = await _world(service)
    admin = world.callers["admin"]
    url = f"/manage/tenants/{world.tenant}/projects/shop/agents/triage"
    issued = await service.operator.post(
        f"/manage/tenants/{world.tenant}/api-keys", json={"role": "viewer", "project_id": "shop"}
    )
    key = service.with_token(issued.json()["key"])
    assert (await key.get(url)).status_code == 200
    revoked = await admin.delete(f"/manage/tenants/{world.tenant}/api-keys/{issued.json()['id']}")
    assert revoked.status_code == 204
    assert (await key.get(url)).status_code == 401
    expired = await service.operator.post(
        f"/manage/tenants/{world.tenant}/api-keys",
        json={"role": "viewer", "project_id": "shop", "expires_at": "2020-01-01T00:00:00Z"},
    )
    assert (await service.with_token(expired.json()["key"]).get(url)).status_code == 401


async def test_issued_key_secret_is_shown_once(service: Service) -> None:
    world = await _world(service)
    issued = await service.operator.post(
        f"/manage/tenants/{world.tenant}/api-keys", json={"role": "admin", "name": "ci"}
    )
    assert issued.status_code == 201
    secret = issued.json()["key"]
    listed = await world.callers["admin"].get(f"/manage/tenants/{world.tenant}/api-keys")
    one = await world.callers["admin"].get(
        f"/manage/tenants/{world.tenant}/api-keys/{issued.json()['id']}"
    )
    for answer in (listed, one):
        assert secret not in answer.text
        assert "key_hash" not in answer.text
    bad = await service.operator.post(
        f"/manage/tenants/{world.tenant}/api-keys", json={"role": "editor"}
    )
    assert bad.status_code == 422
