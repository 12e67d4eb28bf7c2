"""Write transactions on one SQLite database take turns inside the process.

SQLite lets one writer in at a time. A writer that finds the database locked waits in
SQLite's busy handler, which sleeps 1, 2, 5, 10 ... up to 100 ms between tries, not
until the lock is free: with ten concurrent writers most of them sleep long after the
one ahead has committed (a p99 of 434 ms for 4 ms commits). Queued on an
``asyncio.Lock`` instead, each starts the moment the one before it ends. Writers in
other processes still meet at SQLite's lock, as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class WriterTurns:
    """One write transaction at a time per database, in this process."""

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        # A lock belongs to the event loop it first waited on: one per loop (a
        # database may be used from one loop, closed over, and used from another).
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """How many writers wait for their turn now."""
        return self._waiting

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Wait for this database's turn to write; give it up on exit.

        After the busy timeout without a turn the writer goes ahead anyway, so the
        database answers as it always has (SQLite's own wait, then ``database is
        locked``), never a hang: a task that opens a second write while holding one
        gets that error, not a deadlock.
        """
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._lock = loop, asyncio.Lock()
        lock = self._lock
        self._waiting += 1
        try:
            if lock.locked():
                # ``asyncio.timeout``, not ``wait_for``: no task per waiter.
                async with asyncio.timeout(self._timeout):
                    await lock.acquire()
            else:
                # A free lock is taken without yielding to the loop (``wait_for`` made
                # a task and waited a loop turn for it: a sixth of a SQLite PATCH's
                # time under load went there).
                await lock.acquire()
        except TimeoutError:
            self._waiting -= 1
            yield
            return
        self._waiting -= 1
        try:
            yield
        finally:
            lock.release()
