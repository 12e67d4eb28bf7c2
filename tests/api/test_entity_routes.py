"""Every manage entity over HTTP: create, read, list, change, replace, delete; each
write one commit named in ``x-agentfold-commit``; the branch clean after each."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from agentfold_core.data_access.registry import Registered
from agentfold_core.scopes import ProjectScope
from agentfold_core.versioning.operations import log, status
from tests.api.urls import collection, manage_entries
from tests.support.api import Service
from tests.support.databases import TestDatabases
from tests.support.graph import Context, Graph, expected_fields, sample_for

ENTRIES = manage_entries()


def _subset(body: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    return {k: body.get(k) for k in expected}


async def _head(databases: TestDatabases, ctx: Context) -> str:
    found = await log(databases.manage)(scopes=ProjectScope(ctx.tenant, ctx.project), limit=1)
    return found.data[0].id


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.table for e in ENTRIES])
async def test_crud_over_http(
    entry: Registered, service: Service, databases: TestDatabases
) -> None:
    token = secrets.token_hex(4)
    ctx = Context(tenant=f"t-{token}", project=f"p-{token}")
    graph = Graph(databases)
    await graph.prepare(entry.entity, ctx)
    caller = await service.key(ctx.tenant, "editor", project=ctx.project)
    sample = sample_for(entry.entity)
    payload = ctx.fill(sample.create)
    url = collection(entry, ctx)

    created = await caller.post(url, json=payload, headers={"x-agentfold-commit-message": "add it"})
    assert created.status_code == 201, created.text
    body = created.json()
    expected = expected_fields(entry.entity, payload)
    assert _subset(body, expected) == expected
    assert "tenant_id" not in body
    assert "branch" not in body
    head = await _head(databases, ctx)
    assert created.headers["x-agentfold-commit"] == head
    history = await log(databases.manage)(scopes=ProjectScope(ctx.tenant, ctx.project), limit=1)
    assert history.data[0].message == "add it"
    assert history.data[0].author == "api-key:editor-key"
    item = f"{url}/{body['id']}"
    assert created.headers["location"].endswith(item)

    read = await caller.get(item)
    assert read.status_code == 200
    assert read.json() == body
    assert read.headers["x-agentfold-commit"] == head

    listed = await caller.get(url, params={"limit": 100})
    assert listed.status_code == 200
    assert body["id"] in [r["id"] for r in listed.json()["data"]]
    assert listed.json()["pagination"]["total"] >= 1

    changed = await caller.patch(item, json=ctx.fill(sample.update))
    assert changed.status_code == 200, changed.text
    update = expected_fields(entry.entity, {**payload, **ctx.fill(sample.update)})
    assert _subset(changed.json(), update) == update

    replaced = await caller.put(item, json=payload)
    assert replaced.status_code == 200, replaced.text
    assert _subset(replaced.json(), expected) == expected

    removed = await caller.delete(item)
    assert removed.status_code == 204
    assert removed.headers["x-agentfold-commit"] == await _head(databases, ctx)
    gone = await caller.get(item)
    assert gone.status_code == 404
    assert gone.json()["code"] == "not_found"
    again = await caller.delete(item)
    assert again.status_code == 404

    recreated = await caller.put(item, json=payload)
    assert recreated.status_code == 200, recreated.text
    assert (await caller.get(item)).status_code == 200
    clean = await status(databases.manage)(scopes=ProjectScope(ctx.tenant, ctx.project))
    assert clean.changes == []


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.table for e in ENTRIES])
async def test_invalid_body_changes_nothing(
    entry: Registered, service: Service, databases: TestDatabases
) -> None:
    token = secrets.token_hex(4)
    ctx = Context(tenant=f"t-{token}", project=f"p-{token}")
    await Graph(databases).prepare(entry.entity, ctx)
    caller = await service.key(ctx.tenant, "editor", project=ctx.project)
    before = await _head(databases, ctx)
    payload = {**ctx.fill(sample_for(entry.entity).create), "tenant_id": "someone-else"}
    refused = await caller.post(collection(entry, ctx), json=payload)
    assert refused.status_code == 422
    problem = refused.json()
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert problem["code"] == "validation_failed"
    assert {"field": "tenant_id", "type": "extra_forbidden"} in [
        {"field": e["field"], "type": e["type"]} for e in problem["errors"]
    ]
    assert await _head(databases, ctx) == before
