"""The Litestar application: both databases, the operator credential, every route."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, get
from litestar.datastructures import State
from litestar.logging.config import LoggingConfig
from litestar.middleware import DefineMiddleware
from litestar.response import Response
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE

from agentfold_api.auth import BearerAuthentication
from agentfold_api.docs import AmountSchema, docs_handlers, openapi_config
from agentfold_api.maintenance import periodic_maintenance
from agentfold_api.operator_token import operator_setup
from agentfold_api.problems import EXCEPTION_HANDLERS
from agentfold_api.routes.audit import audit_handlers
from agentfold_api.routes.credits import credit_handlers
from agentfold_api.routes.entities import entity_handlers
from agentfold_api.routes.links import link_handlers
from agentfold_api.routes.projects import project_handlers
from agentfold_api.routes.run import run_handlers
from agentfold_api.routes.run_records import run_record_handlers
from agentfold_api.routes.runs import run_read_handlers
from agentfold_api.routes.secrets import secret_handlers
from agentfold_api.routes.tenants import tenant_handlers
from agentfold_api.routes.versioning import versioning_handlers
from agentfold_api.settings import ApiSettings
from agentfold_api.state import ServiceState, app_state
from agentfold_core.credentials.references import default_stores
from agentfold_core.data_access.health import ping
from agentfold_core.data_access.runtime.key_failures import FailedAttempts
from agentfold_core.db.engine import Database, databases_from_settings
from agentfold_core.migrations import upgrade, verify_schema
from agentfold_core.secrets.master_keys import load_key_ring
from agentfold_core.settings import DatabaseSettings, SecretSettings

log = logging.getLogger("agentfold.api")
_PUBLIC = {"exclude_from_auth": True}


async def prepare_schema(database: Database) -> None:
    """Upgrade an embedded SQLite database; only verify PostgreSQL (never migrated here)."""
    if database.backend == "sqlite":
        await upgrade(database)
    else:
        await verify_schema(database, mode="strict")


@get(
    "/health/live",
    operation_id="health_live",
    tags=["health"],
    sync_to_thread=False,
    opt=_PUBLIC,
    summary="The process is up",
)
def live() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@get(
    "/health/ready",
    operation_id="health_ready",
    tags=["health"],
    opt=_PUBLIC,
    summary="Both databases answer",
)
async def ready(state: State) -> Response[dict[str, str]]:
    """Both databases answer."""
    service: ServiceState = state.service
    checks = {
        "manage": "ok" if await ping(service.manage) else "unreachable",
        "runtime": "ok" if await ping(service.runtime) else "unreachable",
    }
    healthy = all(v == "ok" for v in checks.values())
    status = "ok" if healthy else "unavailable"
    return Response(
        {"status": status, **checks}, status_code=200 if healthy else HTTP_503_SERVICE_UNAVAILABLE
    )


def create_app(
    settings: DatabaseSettings | None = None,
    api: ApiSettings | None = None,
    secrets: SecretSettings | None = None,
) -> Litestar:
    """Build the application for the configured databases."""
    settings = settings or DatabaseSettings()
    api = api or ApiSettings()
    secrets = secrets or SecretSettings()

    @asynccontextmanager
    async def databases(app: Litestar) -> AsyncIterator[None]:
        manage, runtime = databases_from_settings(settings)
        try:
            await prepare_schema(manage)
            await prepare_schema(runtime)
            setup = operator_setup(api, manage)
            log.warning(setup.announcement)
            keys = load_key_ring(runtime, secrets)
            log.warning(keys.announcement)
            failures = FailedAttempts(runtime)
            app.state.service = ServiceState(
                manage=manage,
                runtime=runtime,
                operator=setup.token,
                settings=api,
                credentials=default_stores(runtime, keys.ring),
                failures=failures,
            )
            try:
                async with periodic_maintenance(runtime, api) as tasks:
                    app.state.maintenance = tasks
                    yield
            finally:
                # Failed attempts counted but not yet written (throttled) are kept.
                await failures.flush()
        finally:
            await manage.dispose()
            await runtime.dispose()

    return Litestar(
        route_handlers=[
            live,
            ready,
            *docs_handlers(),
            *tenant_handlers(),
            *audit_handlers(),
            *project_handlers(),
            *versioning_handlers(),
            *entity_handlers(),
            *link_handlers(),
            *run_handlers(),
            *secret_handlers(),
            *run_record_handlers(),
            *run_read_handlers(),
            *credit_handlers(),
        ],
        lifespan=[databases],
        middleware=[DefineMiddleware(BearerAuthentication, exclude=["^/docs", "^/openapi.json$"])],
        exception_handlers=dict(EXCEPTION_HANDLERS),
        openapi_config=openapi_config(),
        plugins=[AmountSchema()],
        # The process's logging belongs to whoever runs it (``agentfold serve``, tests);
        # unexpected errors are logged once, by the problem handler.
        logging_config=LoggingConfig(configure_root_logger=False, log_exceptions="never"),
        request_max_body_size=api.max_body_bytes,
    )


__all__ = ["app_state", "create_app", "prepare_schema"]
