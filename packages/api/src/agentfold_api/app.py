"""The Litestar application: databases on the app state, health routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from litestar import Litestar, get
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.response import Response
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE

from agentfold_api import __version__
from agentfold_core.data_access.health import ping
from agentfold_core.db.engine import Database, databases_from_settings
from agentfold_core.migrations import upgrade, verify_schema
from agentfold_core.settings import DatabaseSettings


async def prepare_schema(database: Database) -> None:
    """Upgrade an embedded SQLite database; only verify PostgreSQL (never migrated here)."""
    if database.backend == "sqlite":
        await upgrade(database)
    else:
        await verify_schema(database, mode="strict")


@dataclass(frozen=True)
class Databases:
    """The manage and runtime databases the app serves."""

    manage: Database
    runtime: Database


@get("/health/live", operation_id="health_live", tags=["health"], sync_to_thread=False)
def live() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@get("/health/ready", operation_id="health_ready", tags=["health"])
async def ready(state: State) -> Response[dict[str, str]]:
    """Both databases answer."""
    dbs: Databases = state.databases
    checks = {
        "manage": "ok" if await ping(dbs.manage) else "unreachable",
        "runtime": "ok" if await ping(dbs.runtime) else "unreachable",
    }
    healthy = all(v == "ok" for v in checks.values())
    status = "ok" if healthy else "unavailable"
    return Response(
        {"status": status, **checks}, status_code=200 if healthy else HTTP_503_SERVICE_UNAVAILABLE
    )


def create_app(settings: DatabaseSettings | None = None) -> Litestar:
    """Build the application for the configured databases."""
    settings = settings or DatabaseSettings()

    @asynccontextmanager
    async def databases(app: Litestar) -> AsyncIterator[None]:
        manage, runtime = databases_from_settings(settings)
        try:
            await prepare_schema(manage)
            await prepare_schema(runtime)
            app.state.databases = Databases(manage=manage, runtime=runtime)
            yield
        finally:
            await manage.dispose()
            await runtime.dispose()

    return Litestar(
        route_handlers=[live, ready],
        lifespan=[databases],
        openapi_config=OpenAPIConfig(title="agentfold", version=__version__, path="/docs"),
    )
