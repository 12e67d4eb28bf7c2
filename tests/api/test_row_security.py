"""The API's cross-tenant matrices as the application role on PostgreSQL, and again with
every tenant filter of the data layer removed: row-level security alone holds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from litestar.testing import AsyncTestClient

from agentfold_api.app import create_app
from agentfold_api.settings import ApiSettings
from agentfold_api.state import app_state
from agentfold_core.db.engine import Database
from agentfold_core.settings import DatabaseSettings
from tests.api.test_access import test_cross_tenant_and_cross_project_matrix as access_matrix
from tests.api.test_run_routes import RUN, _created, _shop
from tests.api.test_run_routes import (
    test_run_routes_of_another_project_or_tenant_answer_404 as run_matrix,
)
from tests.support.api import OPERATOR_TOKEN, Service
from tests.support.databases import Backend, TestDatabases
from tests.support.row_security import app_role_databases, tenant_filters_removed


@asynccontextmanager
async def _running(settings: DatabaseSettings) -> AsyncIterator[Service]:
    api = ApiSettings(admin_token=OPERATOR_TOKEN, max_body_bytes=256 * 1024)
    async with AsyncTestClient(app=create_app(settings, api)) as client:
        yield Service(client)


@pytest.fixture(scope="module")
async def app_service(backend: Backend) -> AsyncIterator[Service]:
    """The service on databases it uses as the application role (reads across tenants,
    the API-key lookup, on the owner's URL)."""
    if backend != "postgresql":
        pytest.skip("row-level security is PostgreSQL's; SQLite relies on the data layer")
    async with app_role_databases() as dbs, _running(dbs.settings()) as service:
        yield service


async def test_access_matrix_as_the_application_role(app_service: Service) -> None:
    await access_matrix(app_service)


async def test_run_route_matrix_as_the_application_role(app_service: Service) -> None:
    await run_matrix(app_service)


async def test_run_route_matrix_without_tenant_filters(app_service: Service) -> None:
    state = app_state(app_service.client.app)
    with tenant_filters_removed(state.manage, state.runtime):
        await run_matrix(app_service)


async def test_access_matrix_without_tenant_filters(app_service: Service) -> None:
    state = app_state(app_service.client.app)
    with tenant_filters_removed(state.manage, state.runtime):
        await access_matrix(app_service)


async def _stranger_reads(service: Service, *databases: Database) -> list[int]:
    """Tenant A's conversation and run, read by a runner of tenant B whose project has
    the same id, with the tenant filters of ``databases`` removed: the statuses."""
    shop = await _shop(service)
    conversation = await _created(
        await shop.runner.post(f"{RUN}/conversations", json={"agent_id": "triage"})
    )
    run = await _created(await shop.runner.post(f"{RUN}/runs", json={"agent_id": "triage"}))
    elsewhere = f"u-{shop.tenant}"
    admin = await service.key(elsewhere, "admin")
    made = await admin.post(
        f"/manage/tenants/{elsewhere}/projects", json={"id": "shop", "name": "S"}
    )
    assert made.status_code == 201, made.text
    stranger = await service.key(elsewhere, "runner", project="shop")
    with tenant_filters_removed(*databases):
        return [
            (await stranger.get(f"{RUN}/conversations/{conversation['id']}")).status_code,
            (await stranger.get(f"{RUN}/runs/{run['id']}")).status_code,
        ]


async def test_without_filters_only_row_security_stands_between_tenants(
    backend: Backend, databases: TestDatabases, app_service: Service
) -> None:
    """The test build really removes the filters: as a superuser (row-level security
    not in force) tenant B's runner reads tenant A's rows; as the application role it
    gets 404. (The manage filters are kept on the superuser's side: without them the
    set-up itself breaks, a version-control update moving another tenant's branch.)"""
    settings = DatabaseSettings(
        manage_database_url=databases.manage_url, runtime_database_url=databases.runtime_url
    )
    async with _running(settings) as superuser:
        assert await _stranger_reads(superuser, app_state(superuser.client.app).runtime) == [
            200,
            200,
        ]
    state = app_state(app_service.client.app)
    assert await _stranger_reads(app_service, state.manage, state.runtime) == [404, 404]
