"""Housekeeping inside the service: the stuck-run sweep and retention, once at start
and then every interval of the settings, in background tasks of the app's lifespan.

A failing pass is logged and retried at the next interval; it never stops the service.
Several workers (or instances) may run it at once: the sweep fails each run once
(compare-and-set per run) and retention deletes in short batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

from agentfold_api.settings import ApiSettings
from agentfold_core.cli.maintenance import retention_lines
from agentfold_core.data_access.runtime.retention import enforce_retention
from agentfold_core.data_access.runtime.sweep import sweep_stuck_runs
from agentfold_core.db.engine import Database

log = logging.getLogger("agentfold.maintenance")

Job = Callable[[], Awaitable[None]]


async def sweep_once(runtime: Database, stale_after: timedelta) -> int:
    """Fail the runs without a heartbeat for ``stale_after``; how many were failed."""
    report = await sweep_stuck_runs(runtime, older_than=stale_after)
    for run in report.failed:
        # A runner died or lost its way: worth an operator's attention.
        log.warning(
            "stuck run %s/%s/%s (agent %s) failed: no heartbeat since %s",
            run.tenant_id,
            run.project_id,
            run.run_id,
            run.agent_id,
            run.last_seen.isoformat(),
        )
    return len(report.failed)


async def retention_once(runtime: Database) -> int:
    """Enforce every project's retention settings; how many rows were removed."""
    report = await enforce_retention(runtime)
    removed = sum(report.totals().values())
    if removed:
        for line in retention_lines(report):
            log.info("retention: %s", line)
    return removed


async def every(name: str, interval: float, job: Job, stop: asyncio.Event) -> None:
    """Run ``job`` now and then every ``interval`` seconds until ``stop`` is set; a
    failing run is logged and the next one still comes."""
    while not stop.is_set():
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; retrying in %s s", name, interval)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


@contextlib.asynccontextmanager
async def periodic_maintenance(
    runtime: Database, settings: ApiSettings
) -> AsyncIterator[list[asyncio.Task[None]]]:
    """The sweep and retention running in background tasks (given to the block) while
    the block runs (none when ``settings.maintenance`` is off); stopped when it ends."""
    if not settings.maintenance:
        yield []
        return
    stop = asyncio.Event()
    stale_after = timedelta(seconds=settings.stale_run_seconds)
    log.info(
        "maintenance: stuck-run sweep every %g s (stale after %g s), retention every %g s",
        settings.sweep_interval_seconds,
        settings.stale_run_seconds,
        settings.retention_interval_seconds,
    )

    async def sweep() -> None:
        await sweep_once(runtime, stale_after)

    async def retention() -> None:
        await retention_once(runtime)

    loops = (
        ("stuck-run sweep", "sweep", settings.sweep_interval_seconds, sweep),
        ("retention", "retention", settings.retention_interval_seconds, retention),
    )
    tasks = [
        asyncio.create_task(every(name, interval, job, stop), name=f"agentfold-maintenance-{tag}")
        for name, tag, interval, job in loops
    ]
    try:
        yield tasks
    finally:
        stop.set()
        # A pass under way is cancelled: its transaction rolls back, and the next start
        # (or another worker) does it again.
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
