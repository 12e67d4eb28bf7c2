"""Housekeeping inside the service: a started app fails stale runs and removes expired
rows without any request, keeps going after a failing pass, and stops on shutdown."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from litestar.testing import AsyncTestClient

from agentfold_api.app import create_app
from agentfold_api.maintenance import every
from agentfold_api.settings import ApiSettings
from agentfold_core.data_access.runtime.project_metadata import update_project_metadata
from agentfold_core.data_access.runtime.runs import RUNS, get_run, start_run
from agentfold_core.db.types import utcnow
from agentfold_core.settings import DatabaseSettings
from tests.integration.test_retention import run_tree
from tests.integration.test_runs import project
from tests.support.databases import TestDatabases


async def _until(check: Callable[[], Awaitable[bool]]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("maintenance did not happen in time")


async def test_a_started_service_sweeps_and_enforces_retention_by_itself(
    databases: TestDatabases,
) -> None:
    token = secrets.token_hex(4)
    scope = await project(databases, f"t-{token}", "shop")
    runtime = databases.runtime
    long_ago = utcnow() - timedelta(hours=2)
    start = start_run(runtime)
    await start(scopes=scope, data={"id": "stale", "agent_id": "a", "heartbeat_at": long_ago})
    await start(scopes=scope, data={"id": "alive", "agent_id": "a"})
    await update_project_metadata(runtime)(scopes=scope, data={"retention_run_days": 30})
    await run_tree(databases, scope, "old", utcnow() - timedelta(days=400))

    settings = DatabaseSettings(
        manage_database_url=databases.manage_url, runtime_database_url=databases.runtime_url
    )
    fast = ApiSettings(
        maintenance=True,
        stale_run_seconds=600,
        sweep_interval_seconds=0.05,
        retention_interval_seconds=0.05,
    )
    app = create_app(settings, fast)
    async with AsyncTestClient(app=app):
        # The test client runs the app on its own event loop: its tasks are on the state.
        tasks = app.state.maintenance
        assert [t.get_name() for t in tasks] == [
            "agentfold-maintenance-sweep",
            "agentfold-maintenance-retention",
        ]
        assert not any(t.done() for t in tasks)

        async def swept() -> bool:
            run = await get_run(runtime)(scopes=scope, run_id="stale")
            return run is not None and run.status == "failed"

        async def removed() -> bool:
            return await RUNS.get(runtime)(scopes=scope, run_id="old") is None

        await _until(swept)
        await _until(removed)
    stale = await get_run(runtime)(scopes=scope, run_id="stale")
    alive = await get_run(runtime)(scopes=scope, run_id="alive")
    assert stale is not None
    assert stale.error is not None
    assert stale.error.code == "heartbeat_timeout"
    assert alive is not None
    assert alive.status == "running"
    # Shutdown stopped both loops.
    assert all(t.done() for t in tasks)


async def test_maintenance_is_off_when_the_settings_say_so(databases: TestDatabases) -> None:
    settings = DatabaseSettings(
        manage_database_url=databases.manage_url, runtime_database_url=databases.runtime_url
    )
    app = create_app(settings, ApiSettings(maintenance=False))
    async with AsyncTestClient(app=app):
        assert app.state.maintenance == []


async def test_a_failing_pass_is_logged_and_the_next_one_comes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = 0
    stop = asyncio.Event()

    async def job() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database away")
        if calls == 3:
            stop.set()

    with caplog.at_level(logging.ERROR, logger="agentfold.maintenance"):
        await asyncio.wait_for(every("sweep", 0.01, job, stop), timeout=5)
    assert calls == 3
    assert "sweep failed" in caplog.text
    assert "database away" in caplog.text
