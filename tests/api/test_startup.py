"""Service start-up: SQLite is upgraded on first start, PostgreSQL only verified."""

from __future__ import annotations

import logging
import re
import stat
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from agentfold_api.app import create_app
from agentfold_api.settings import ApiSettings
from agentfold_core.migrations import SchemaNotReady, current
from agentfold_core.settings import DatabaseSettings
from tests.support.databases import (
    Backend,
    TestDatabases,
    create_test_databases,
    drop_test_databases,
)


async def test_embedded_sqlite_is_created_and_upgraded(tmp_path: Path) -> None:
    settings = DatabaseSettings(
        manage_database_url=f"sqlite+aiosqlite:///{tmp_path / 'data' / 'manage.db'}",
        runtime_database_url=f"sqlite+aiosqlite:///{tmp_path / 'data' / 'runtime.db'}",
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        live = await client.get("/health/live")
        ready = await client.get("/health/ready")
    assert live.status_code == 200
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "manage": "ok", "runtime": "ok"}
    assert (tmp_path / "data" / "manage.db").exists()
    assert (tmp_path / "data" / "runtime.db").exists()


# PostgreSQL only: SQLite is upgraded on start instead (the test above).
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_postgres_behind_its_migrations_is_refused(backend: Backend, tmp_path: Path) -> None:
    dbs = await create_test_databases(backend, tmp_path, schema=False)
    try:
        settings = DatabaseSettings(
            manage_database_url=dbs.manage_url, runtime_database_url=dbs.runtime_url
        )
        with pytest.RaisesGroup(
            pytest.RaisesExc(SchemaNotReady, match="fix: agentfold db upgrade --db manage"),
            flatten_subgroups=True,
        ):
            async with AsyncTestClient(app=create_app(settings)):
                pass
        # Nothing was migrated behind the operator's back.
        assert (await current(dbs.manage)).revisions == ()
    finally:
        await drop_test_databases(dbs)


async def test_ready_reports_an_unreachable_database(tmp_path: Path) -> None:
    settings = DatabaseSettings(
        manage_database_url=f"sqlite+aiosqlite:///{tmp_path / 'manage.db'}",
        runtime_database_url=f"sqlite+aiosqlite:///{tmp_path / 'runtime.db'}",
    )
    app = create_app(settings)
    async with AsyncTestClient(app=app) as client:
        await app.state.service.runtime.dispose()
        (tmp_path / "runtime.db").unlink()
        (tmp_path / "runtime.db").mkdir()  # a directory where the file was: unopenable
        ready = await client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "manage": "ok", "runtime": "unreachable"}


async def test_embedded_default_generates_an_operator_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = DatabaseSettings(
        manage_database_url=f"sqlite+aiosqlite:///{tmp_path / 'data' / 'manage.db'}",
        runtime_database_url=f"sqlite+aiosqlite:///{tmp_path / 'data' / 'runtime.db'}",
    )
    token_file = tmp_path / "data" / "admin-token"
    with caplog.at_level(logging.INFO, logger="agentfold.api"):
        async with AsyncTestClient(
            app=create_app(settings, ApiSettings(admin_token=None))
        ) as client:
            token = token_file.read_text().strip()
            made = await client.post(
                "/manage/tenants",
                json={"id": "acme", "name": "Acme"},
                headers={"authorization": f"Bearer {token}"},
            )
            refused = await client.post(
                "/manage/tenants",
                json={"id": "other", "name": "Other"},
                headers={"authorization": "Bearer not-the-token"},
            )
    assert made.status_code == 201
    assert refused.status_code == 401
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert str(token_file) in caplog.text
    assert token not in caplog.text
    # A restart keeps the same token.
    async with AsyncTestClient(app=create_app(settings, ApiSettings(admin_token=None))):
        pass
    assert token_file.read_text().strip() == token


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_postgres_without_a_token_disables_operator_routes(
    backend: Backend, databases: TestDatabases, caplog: pytest.LogCaptureFixture
) -> None:
    settings = DatabaseSettings(
        manage_database_url=databases.manage_url, runtime_database_url=databases.runtime_url
    )
    with caplog.at_level(logging.INFO, logger="agentfold.api"):
        async with AsyncTestClient(
            app=create_app(settings, ApiSettings(admin_token=None))
        ) as client:
            answer = await client.post(
                "/manage/tenants",
                json={"id": "acme", "name": "Acme"},
                headers={"authorization": "Bearer anything"},
            )
    assert answer.status_code == 401
    assert "operator routes disabled" in caplog.text
    assert "AGENTFOLD_ADMIN_TOKEN" in caplog.text


async def test_docs_load_nothing_from_elsewhere(tmp_path: Path) -> None:
    settings = DatabaseSettings(
        manage_database_url=f"sqlite+aiosqlite:///{tmp_path / 'manage.db'}",
        runtime_database_url=f"sqlite+aiosqlite:///{tmp_path / 'runtime.db'}",
    )
    async with AsyncTestClient(app=create_app(settings, ApiSettings(admin_token=None))) as client:
        page = await client.get("/docs")
        document = await client.get("/openapi.json")
        assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
        fetched = [await client.get(url) for url in assets]
    assert page.status_code == 200
    assert document.status_code == 200
    assert document.json()["openapi"].startswith("3.1")
    assert assets
    assert all(url.startswith("/docs/assets/") for url in assets), assets
    assert all(answer.status_code == 200 for answer in fetched)
    assert "http://" not in page.text
    assert "https://" not in page.text
