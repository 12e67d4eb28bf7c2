"""Running a command's coroutine: one event loop per command, closed only when idle."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

# aiosqlite runs each connection on a thread named after this function.
_SQLITE_WORKER = "(_connection_worker_thread)"
# How long to wait for those threads; they only close a connection.
_SETTLE_SECONDS = 2.0


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, letting SQLite worker threads finish before the loop closes."""
    return asyncio.run(_settled(main))


async def _settled(main: Coroutine[Any, Any, T]) -> T:
    try:
        return await main
    finally:
        await _sqlite_workers_done()


async def _sqlite_workers_done() -> None:
    # aiosqlite stops the thread of a connection that failed to open without waiting
    # for it; the thread then reports to the event loop, and if ``asyncio.run`` has
    # closed the loop by then it prints "Exception in thread ... Event loop is closed"
    # with a traceback after the command's one-line error. Join them while it runs.
    await asyncio.to_thread(_join_sqlite_workers)


def _join_sqlite_workers() -> None:
    deadline = time.monotonic() + _SETTLE_SECONDS
    for thread in threading.enumerate():
        if thread.name.endswith(_SQLITE_WORKER):
            thread.join(max(0.0, deadline - time.monotonic()))
