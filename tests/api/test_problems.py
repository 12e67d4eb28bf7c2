"""Malformed input of every kind is a 4xx problem document, and changes nothing."""

from __future__ import annotations

import secrets

import pytest

from tests.support.api import Caller, Service

PROBLEM = "application/problem+json"


async def _project(service: Service) -> tuple[Caller, str]:
    tenant = f"t-{secrets.token_hex(4)}"
    admin = await service.key(tenant, "admin")
    made = await admin.post(f"/manage/tenants/{tenant}/projects", json={"id": "p", "name": "P"})
    assert made.status_code == 201
    return admin, f"/manage/tenants/{tenant}/projects/p"


async def _commits(admin: Caller, project: str) -> int:
    found = await admin.get(f"{project}/commits", params={"limit": 1})
    total: int = found.json()["pagination"]["total"]
    return total


@pytest.mark.parametrize(
    ("name", "body", "content_type", "status", "code"),
    [
        ("malformed JSON", b'{"id": ', "application/json", 400, "bad_request"),
        (
            "NaN",
            b'{"id":"a","name":"A","models":{"x":NaN}}',
            "application/json",
            400,
            "bad_request",
        ),
        ("empty body", b"", "application/json", 400, "bad_request"),
        ("plain text", b'{"id":"a","name":"A"}', "text/plain", 415, "unsupported_media_type"),
        (
            "form",
            b"id=a&name=A",
            "application/x-www-form-urlencoded",
            415,
            "unsupported_media_type",
        ),
        ("no content type", b'{"id":"a","name":"A"}', "", 415, "unsupported_media_type"),
        ("array", b"[1, 2]", "application/json", 422, "validation_failed"),
        ("null", b"null", "application/json", 422, "validation_failed"),
        ("wrong type", b'{"id":"a","name":7}', "application/json", 422, "validation_failed"),
        (
            "scope in body",
            b'{"id":"a","name":"A","project_id":"x"}',
            "application/json",
            422,
            "validation_failed",
        ),
        ("bad id", b'{"id":"a b","name":"A"}', "application/json", 422, "validation_failed"),
        ("NUL", b'{"id":"a","name":"A\\u0000"}', "application/json", 422, "validation_failed"),
        (
            "too big",
            b'{"id":"a","name":"' + b"x" * 300_000 + b'"}',
            "application/json",
            413,
            "request_too_large",
        ),
    ],
)
async def test_bad_bodies(
    service: Service, name: str, body: bytes, content_type: str, status: int, code: str
) -> None:
    admin, project = await _project(service)
    before = await _commits(admin, project)
    headers = {"content-type": content_type} if content_type else {}
    answer = await admin.post(f"{project}/agents", content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    problem = answer.json()
    assert problem["code"] == code
    assert problem["status"] == status
    assert problem["type"] == f"urn:agentfold:problem:{code}"
    if code == "validation_failed":
        assert problem["errors"]
        assert all({"field", "message", "type"} <= e.keys() for e in problem["errors"])
    assert await _commits(admin, project) == before


async def test_validation_names_each_field(service: Service) -> None:
    admin, project = await _project(service)
    answer = await admin.post(
        f"{project}/agents", json={"id": "a", "name": 1, "execution_mode": "x"}
    )
    assert answer.status_code == 422
    assert {e["field"] for e in answer.json()["errors"]} == {"name", "execution_mode"}


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"bogus": "1"}, 422),
        ({"page": "0"}, 400),
        ({"page": "x"}, 400),
        ({"limit": "1000"}, 400),
        ({"page": "99999999999999999999999"}, 400),
        ({"ref": "a..b"}, 422),
        ({"ref": "no-such-branch"}, 404),
    ],
)
async def test_bad_query_parameters(service: Service, query: dict[str, str], status: int) -> None:
    admin, project = await _project(service)
    answer = await admin.get(f"{project}/agents", params=query)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)


async def test_bad_paths(service: Service) -> None:
    admin, project = await _project(service)
    for url, status in (
        (f"{project}/agents/{'a' * 300}", 422),
        (f"{project}/agents/a%20b", 422),
        (f"{project}/no-such-collection", 404),
        ("/nothing/here", 404),
    ):
        answer = await admin.get(url)
        assert answer.status_code == status, url
        assert answer.headers["content-type"].startswith(PROBLEM)
    wrong_method = await admin.request("PATCH", f"{project}/agents")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "method_not_allowed"


async def test_conflict_is_reported(service: Service) -> None:
    admin, project = await _project(service)
    assert (await admin.post(f"{project}/agents", json={"id": "a", "name": "A"})).status_code == 201
    again = await admin.post(f"{project}/agents", json={"id": "a", "name": "A"})
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"
    dangling = await admin.patch(f"{project}/agents/a", json={"default_sub_agent_id": "ghost"})
    assert dangling.status_code == 422
    assert dangling.json()["code"] == "invalid_reference"
