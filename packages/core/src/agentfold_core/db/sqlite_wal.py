"""SQLite transactions end on the caller's thread; the write-ahead log is checkpointed
off it.

aiosqlite runs every call on a thread of its own. A write transaction's COMMIT went
there too: in WAL mode with ``synchronous=NORMAL`` it appends pages to the log without
waiting on the disk (a few microseconds), while the hop to the driver's thread and back
cost the event loop about 250 us per write. While its task holds the connection, the
driver's thread is idle (every call through it is awaited), so the COMMIT can run on
the calling thread, as point statements already do (``db.prepared.run``); so does a
ROLLBACK, and neither is sent when no transaction is open (a plain read's implicit one).

One part of a COMMIT is slow: SQLite's automatic checkpoint, which copies the log back
into the database file every 1,000 pages (milliseconds, with an fsync). On the calling
thread it would stall every request of the loop, so serving connections turn it off and
a write transaction starts a passive checkpoint on its driver's thread every
``CHECKPOINT_EVERY`` write transactions, after its own has ended (it waits for that;
the other requests do not). The log's last connection to close checkpoints it as ever.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# Write transactions of one database (in this process) between two checkpoints: at a
# handful of pages each, about SQLite's own 1,000-page pace.
CHECKPOINT_EVERY = 100
CHECKPOINT = "PRAGMA wal_checkpoint(PASSIVE)"
NO_AUTOMATIC_CHECKPOINT = "PRAGMA wal_autocheckpoint=0"


def end_on_caller(engine: AsyncEngine) -> None:
    """Make ``engine``'s COMMIT and ROLLBACK run on the calling thread, and send
    neither when no transaction is open (the driver would still hop to its thread)."""

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

    def do_rollback(dbapi_connection: Any) -> None:
        raw = dbapi_connection.driver_connection._conn
        if raw.in_transaction:
            raw.execute("ROLLBACK")

    engine.dialect.do_commit = do_commit  # type: ignore[method-assign]
    engine.dialect.do_rollback = do_rollback  # type: ignore[method-assign]


class Checkpoints:
    """Paces the checkpoints of one SQLite database's log in this process."""

    __slots__ = ("_every", "_writes")

    def __init__(self, every: int | None = None) -> None:
        self._every = CHECKPOINT_EVERY if every is None else every
        self._writes = 0

    async def after_write(self, conn: AsyncConnection) -> None:
        """Count a write transaction that ended on ``conn``; every ``every``-th
        checkpoints the log on the connection's driver thread."""
        self._writes += 1
        if self._writes < self._every:
            return
        self._writes = 0
        sync = conn.sync_connection
        if sync is None:
            return
        driver: Any = sync.connection.driver_connection
        await driver.execute_fetchall(CHECKPOINT)
