"""How SQLite transactions end: COMMIT on the caller's thread, a cancelled write rolled
back before its connection closes, the write-ahead log checkpointed off the event loop.

aiosqlite runs every call on a thread of its own. A write transaction's COMMIT went
there too: in WAL mode with ``synchronous=NORMAL`` it appends pages to the log without
waiting on the disk (a few microseconds), while the hop to the driver's thread and back
cost the event loop about 250 us per write. While its task holds the connection, the
driver's thread is idle (every call through it is awaited), so the COMMIT can run on
the calling thread, as point statements already do (``db.prepared.run``). A ROLLBACK
still goes to the driver's thread (it may follow a cancelled statement still running
there), and neither is sent when no transaction is open (a plain read's implicit one).

One part of a COMMIT is slow: SQLite's automatic checkpoint, which copies the log back
into the database file every 1,000 pages (milliseconds, with an fsync). On the calling
thread it would stall every request of the loop, so serving connections turn it off and
every ``CHECKPOINT_EVERY`` write transactions a passive checkpoint runs in the
background on a kept connection's driver thread; its tail (what writers added while
it ran) in a writer's turn, so that the log restarts from its beginning. No request
waits for the bulk of it, readers and the loop for none of it. The log's last
connection to close checkpoints it as ever.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, suppress
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.util.concurrency import await_, in_greenlet

from agentfold_core.db.writer_turns import WriterTurns

log = logging.getLogger("agentfold_core.db")
Connect = Callable[[], AbstractAsyncContextManager[AsyncConnection]]

# Write transactions of one database (in this process) between two checkpoints: at a
# handful of pages each, about SQLite's own 1,000-page pace.
CHECKPOINT_EVERY = 100
CHECKPOINT = "PRAGMA wal_checkpoint(PASSIVE)"
NO_AUTOMATIC_CHECKPOINT = "PRAGMA wal_autocheckpoint=0"


def end_on_caller(engine: AsyncEngine) -> None:
    """Make ``engine``'s COMMIT run on the calling thread, and send neither COMMIT nor
    ROLLBACK when no transaction is open (the driver would still hop to its thread)."""

    def do_commit(dbapi_connection: Any) -> None:
        raw = dbapi_connection.driver_connection._conn
        if not raw.in_transaction:
            return
        try:
            raw.execute("COMMIT")
        except sqlite3.Error:
            # A COMMIT refused (a deferred foreign key) leaves SQLite's transaction
            # open, the write lock held and its rows visible to the connection's next
            # user; SQLAlchemy counts the transaction as ended. End it as PostgreSQL
            # ends a failed COMMIT: rolled back.
            if raw.in_transaction:
                raw.execute("ROLLBACK")
            raise

    hop_to_rollback = engine.dialect.do_rollback

    def do_rollback(dbapi_connection: Any) -> None:
        # On the driver's thread, queued behind whatever a cancelled task left running
        # there (on the caller's thread it would wait for that statement, holding the
        # event loop); nothing at all when no transaction is open.
        if dbapi_connection.driver_connection._conn.in_transaction:
            hop_to_rollback(dbapi_connection)

    terminate = engine.dialect.do_terminate

    def do_terminate(dbapi_connection: Any) -> None:
        # SQLAlchemy ends a connection whose task was cancelled by closing it, without a
        # ROLLBACK. The statement the task left running holds the close back (SQLite
        # keeps a connection with an unfinished statement open until it is finalised),
        # and with it the write lock: every other writer then waited out its busy
        # timeout. Roll back first, on the driver's thread behind that statement.
        if in_greenlet():
            driver = dbapi_connection.driver_connection
            with suppress(Exception, asyncio.CancelledError):
                await_(asyncio.shield(driver._execute(_roll_back_if_open, driver._conn)))
        terminate(dbapi_connection)

    engine.dialect.do_commit = do_commit  # type: ignore[method-assign]
    engine.dialect.do_rollback = do_rollback  # type: ignore[method-assign]
    engine.dialect.do_terminate = do_terminate  # type: ignore[method-assign]


def _roll_back_if_open(raw: sqlite3.Connection) -> None:
    if raw.in_transaction:
        raw.execute("ROLLBACK")


class Checkpoints:
    """Paces the checkpoints of one SQLite database's log in this process: one at a
    time, in the background, on a connection of its own."""

    __slots__ = ("_every", "_running", "_turns", "_writes")

    def __init__(self, turns: WriterTurns, every: int | None = None) -> None:
        self._turns = turns
        self._every = CHECKPOINT_EVERY if every is None else every
        self._writes = 0
        self._running: asyncio.Task[None] | None = None

    def after_write(self, connect: Connect) -> None:
        """Count a write transaction that ended; every ``every``-th starts a checkpoint
        on a connection from ``connect`` unless one still runs (the writer does not
        wait for it)."""
        self._writes += 1
        if self._writes < self._every or self._running is not None:
            return
        self._writes = 0
        self._running = asyncio.get_running_loop().create_task(self._checkpoint(connect))

    async def _checkpoint(self, connect: Connect) -> None:
        try:
            async with connect() as conn:
                # At the driver: no transaction around it (SQLAlchemy would begin one).
                raw = await conn.get_raw_connection()
                driver: Any = raw.driver_connection
                # The bulk while writers go on; then, in a writer's turn, the few pages
                # they added meanwhile. A log that writers keep appending to is never
                # wholly checkpointed, so it would never restart from its beginning
                # and would grow for good.
                await driver.execute_fetchall(CHECKPOINT)
                async with self._turns.turn():
                    await driver.execute_fetchall(CHECKPOINT)
        except Exception:  # a failed checkpoint is retried at the next interval
            log.warning("checkpoint of the SQLite log failed", exc_info=True)
        finally:
            self._running = None

    async def wait(self) -> None:
        """Wait for a checkpoint under way, if any (before the engine is disposed)."""
        running = self._running
        # A task of another loop (a test harness's) cannot be awaited here.
        if running is not None and running.get_loop() is asyncio.get_running_loop():
            await asyncio.shield(running)
