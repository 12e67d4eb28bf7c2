"""Service start-up: SQLite is upgraded on first start, PostgreSQL only verified."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from agentfold_api.app import create_app
from agentfold_core.migrations import SchemaNotReady, current
from agentfold_core.settings import DatabaseSettings
from tests.support.databases import (
    Backend,
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
