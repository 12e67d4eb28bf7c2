"""The secret behind a credential reference over HTTP: write-only, role-checked, and
never shown in a response, an error, a log line or the OpenAPI document."""

from __future__ import annotations

import base64
import logging
import os
import secrets
import stat
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from pydantic import SecretStr

from agentfold_api.app import create_app
from agentfold_api.settings import ApiSettings
from agentfold_core.secrets.master_keys import KEY_FILE
from agentfold_core.settings import DatabaseSettings, SecretSettings
from tests.support.api import OPERATOR_TOKEN, Caller, Service
from tests.support.credentials import SECRET_VALUE
from tests.support.databases import TestDatabases

Started = Callable[[str | None], AbstractAsyncContextManager[Service]]


def _entry(key_id: str, key: bytes | None = None) -> str:
    return f"{key_id}:{base64.b64encode(key or os.urandom(32)).decode()}"


@pytest.fixture
def started(databases: TestDatabases) -> Started:
    """Start the service on this backend's databases with the given master keys."""

    @asynccontextmanager
    async def start(keys: str | None) -> AsyncIterator[Service]:
        settings = DatabaseSettings(
            manage_database_url=databases.manage_url, runtime_database_url=databases.runtime_url
        )
        secret_keys = None if keys is None else SecretStr(keys)
        app = create_app(
            settings,
            ApiSettings(admin_token=OPERATOR_TOKEN),
            SecretSettings(secret_keys=secret_keys),
        )
        async with AsyncTestClient(app=app) as client:
            yield Service(client)

    return start


async def _project(service: Service, *references: tuple[str, dict[str, object]]) -> str:
    """A tenant with project ``shop`` and credential references; its project URL."""
    tenant = f"t-{secrets.token_hex(4)}"
    admin = await service.key(tenant, "admin")
    base = f"/manage/tenants/{tenant}/projects"
    assert (await admin.post(base, json={"id": "shop", "name": "Shop"})).status_code == 201
    for reference_id, fields in references:
        made = await admin.post(
            f"{base}/shop/credentials", json={"id": reference_id, "name": reference_id, **fields}
        )
        assert made.status_code == 201, made.text
    return f"{base}/shop"


def _clean(*answers: httpx.Response) -> None:
    for answer in answers:
        assert SECRET_VALUE not in answer.text, answer.request.url


async def test_editors_set_viewers_see_whether_it_is_set(
    started: Started, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        async with started(_entry("k1")) as service:
            project = await _project(
                service, ("openai", {"type": "encrypted", "retrieval_params": {"key": "oa"}})
            )
            tenant = project.split("/")[3]
            secret = f"{project}/credentials/openai/secret"
            admin = await service.key(tenant, "admin")
            editor = await service.key(tenant, "editor", project="shop")
            viewer = await service.key(tenant, "viewer", project="shop")
            runner = await service.key(tenant, "runner", project="shop")

            unset = await viewer.get(secret)
            assert unset.status_code == 200
            assert unset.json() == {
                "credential_reference_id": "openai",
                "store": "encrypted",
                "store_id": "default",
                "key": "oa",
                "set": False,
                "updated_at": None,
                "key_id": None,
            }
            put = await editor.put(secret, json={"value": SECRET_VALUE})
            assert put.status_code == 200, put.text
            assert put.json()["set"] is True
            assert put.json()["key_id"] == "k1"
            assert put.json()["updated_at"] is not None
            seen = await viewer.get(secret)
            assert seen.json() == put.json()
            verified = await viewer.post(f"{secret}/verify")
            assert verified.status_code == 200
            assert verified.json() == {**put.json(), "readable": True}
            replaced = await admin.put(secret, json={"value": SECRET_VALUE + "-2"})
            assert replaced.status_code == 200

            refused = [
                await viewer.put(secret, json={"value": "x"}),
                await viewer.delete(secret),
                await runner.get(secret),
                await service.operator.put(secret, json={"value": "x"}),
            ]
            assert [a.status_code for a in refused] == [403, 403, 403, 403]
            listed = await viewer.get(f"{project}/credentials")
            reference = await viewer.get(f"{project}/credentials/openai")
            gone = await editor.delete(secret)
            assert gone.status_code == 204
            after = await viewer.get(secret)
            assert after.json()["set"] is False
            again = await editor.delete(secret)
            assert again.status_code == 404
            assert again.json()["code"] == "not_found"
            missing = await viewer.get(f"{project}/credentials/nope/secret")
            assert missing.status_code == 404
            _clean(unset, put, seen, verified, replaced, *refused, listed, reference, after, again)
    assert SECRET_VALUE not in caplog.text


async def test_the_value_is_in_no_error_body_log_line_or_the_openapi_document(
    started: Started, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        async with started(_entry("k1")) as service:
            project = await _project(service, ("openai", {"type": "encrypted"}))
            editor = await service.key(project.split("/")[3], "editor", project="shop")
            secret = f"{project}/credentials/openai/secret"
            answers = [
                await editor.put(secret, json={"value": SECRET_VALUE * 5000}),
                await editor.put(secret, json={"value": SECRET_VALUE, "note": SECRET_VALUE}),
                await editor.put(secret, json={"value": [SECRET_VALUE]}),
                await editor.put(secret, json={"value": f"{SECRET_VALUE}\u0000"}),
                await editor.put(
                    secret,
                    content=f'{{"value": "{SECRET_VALUE}'.encode(),
                    headers={"content-type": "application/json"},
                ),
                await editor.put(
                    f"{project}/credentials/nope/secret", json={"value": SECRET_VALUE}
                ),
            ]
            assert [a.status_code for a in answers] == [422, 422, 422, 422, 400, 404]
            for answer in answers:
                assert answer.headers["content-type"].startswith("application/problem+json")
            document = await service.anonymous.get("/openapi.json")
            _clean(*answers, document)
            schema = document.json()["components"]["schemas"]["SecretValue"]
            assert schema["properties"]["value"]["writeOnly"] is True
    assert SECRET_VALUE not in caplog.text


async def test_a_missing_or_wrong_master_key_is_a_503_naming_it(started: Started) -> None:
    k1 = os.urandom(32)
    async with started(_entry("k1", k1)) as service:
        project = await _project(service, ("openai", {"type": "encrypted"}))
        editor = await service.key(project.split("/")[3], "editor", project="shop")
        secret = f"{project}/credentials/openai/secret"
        assert (await editor.put(secret, json={"value": SECRET_VALUE})).status_code == 200
    async with started(_entry("k2")) as service:
        missing = await Caller(service.client, editor.token).post(f"{secret}/verify")
        # Metadata needs no key: still answered.
        status = await Caller(service.client, editor.token).get(secret)
    async with started(_entry("k1")) as service:
        wrong = await Caller(service.client, editor.token).post(f"{secret}/verify")
    async with started(f"{_entry('k2')},{_entry('k1', k1)}") as service:
        rotated = await Caller(service.client, editor.token).post(f"{secret}/verify")
    assert status.json()["key_id"] == "k1"
    assert missing.status_code == 503
    assert missing.json()["code"] == "master_key_missing"
    assert missing.json()["key_id"] == "k1"
    assert "master key 'k1'" in missing.json()["detail"]
    assert wrong.status_code == 503
    assert wrong.json()["code"] == "secret_undecryptable"
    assert wrong.json()["key_id"] == "k1"
    assert rotated.status_code == 200
    _clean(missing, status, wrong, rotated)


async def test_references_to_other_stores(
    started: Started, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTFOLD_CREDENTIAL_SHARED_LLM", SECRET_VALUE)
    async with started(_entry("k1")) as service:
        project = await _project(
            service,
            ("shared", {"type": "env", "retrieval_params": {"key": "shared-llm"}}),
            ("scratch", {"type": "memory"}),
            ("vault", {"type": "nango"}),
        )
        editor = await service.key(project.split("/")[3], "editor", project="shop")
        env = f"{project}/credentials/shared/secret"
        env_status = await editor.get(env)
        env_put = await editor.put(env, json={"value": "x"})
        memory = f"{project}/credentials/scratch/secret"
        memory_put = await editor.put(memory, json={"value": SECRET_VALUE})
        vault = await editor.get(f"{project}/credentials/vault/secret")
    assert env_status.json()["set"] is True
    assert env_status.json()["store"] == "env"
    assert env_put.status_code == 409
    assert env_put.json()["code"] == "credential_store_read_only"
    assert "AGENTFOLD_CREDENTIAL_SHARED_LLM" in env_put.json()["detail"]
    assert memory_put.status_code == 200
    assert memory_put.json()["store"] == "memory"
    assert vault.status_code == 409
    assert vault.json()["code"] == "credential_store_unavailable"
    _clean(env_status, env_put, memory_put, vault)


async def test_the_embedded_default_generates_and_reuses_a_key_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = DatabaseSettings(
        manage_database_url=f"sqlite+aiosqlite:///{tmp_path / 'data' / 'manage.db'}",
        runtime_database_url=f"sqlite+aiosqlite:///{tmp_path / 'data' / 'runtime.db'}",
    )
    key_file = tmp_path / "data" / KEY_FILE

    def app() -> AsyncTestClient[Litestar]:
        api = ApiSettings(admin_token=OPERATOR_TOKEN)
        return AsyncTestClient(app=create_app(settings, api, SecretSettings(secret_keys=None)))

    with caplog.at_level(logging.INFO, logger="agentfold.api"):
        async with app() as client:
            service = Service(client)
            project = await _project(service, ("openai", {"type": "encrypted"}))
            editor = await service.key(project.split("/")[3], "editor", project="shop")
            secret = f"{project}/credentials/openai/secret"
            put = await editor.put(secret, json={"value": SECRET_VALUE})
    assert put.status_code == 200
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert f"secret keys: generated {key_file} (mode 0600" in caplog.text
    content = key_file.read_text()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="agentfold.api"):
        async with app() as client:
            verified = await Caller(client, editor.token).post(f"{secret}/verify")
    assert verified.status_code == 200
    assert f"secret keys: {key_file} (current" in caplog.text
    assert "generated" not in caplog.text
    assert key_file.read_text() == content
    assert content.split(":", 1)[1].strip() not in caplog.text
