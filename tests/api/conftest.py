"""One in-process app per backend for the API tests, on the session's databases."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from agentfold_api.app import create_app
from agentfold_api.settings import ApiSettings
from agentfold_core.settings import DatabaseSettings
from tests.support.api import OPERATOR_TOKEN, Service
from tests.support.databases import TestDatabases


@pytest.fixture(scope="session")
async def service(databases: TestDatabases) -> AsyncIterator[Service]:
    """The service on this backend's databases, with a known operator token."""
    settings = DatabaseSettings(
        manage_database_url=databases.manage_url, runtime_database_url=databases.runtime_url
    )
    app = create_app(settings, ApiSettings(admin_token=OPERATOR_TOKEN, max_body_bytes=256 * 1024))
    async with AsyncTestClient(app=app) as client:
        yield Service(client)
