"""Connections kept checked out between uses, so a request does not pay the async
engine's connect and close.

SQLAlchemy's async engine checks a connection out and in through a greenlet round
each (``AsyncConnection.start`` and ``close``): on a point read that is most of the
cost. A connection given back here stays checked out, idle, for the next use on the
same event loop. The pool still owns it: one found closed, invalidated or older than
the pool's recycle age is closed (so returned to the pool) instead of reused, and
when the pool has no connection left to give, connections go back to it so that
callers waiting on it are served.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import QueuePool

_Kept = tuple[asyncio.AbstractEventLoop, float, AsyncConnection]


class KeptConnections:
    """Idle connections of one engine, kept for the next use (at most ``keep``)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        keep: int,
        recycle_seconds: int,
        on_release: Callable[[AsyncConnection], None] | None = None,
    ) -> None:
        pool = engine.sync_engine.pool
        # Only a queue pool can tell when it runs dry; others (one in-memory SQLite
        # connection) keep nothing here.
        self._pool = pool if isinstance(pool, QueuePool) else None
        self._engine = engine
        self._keep = keep if self._pool is not None else 0
        self._recycle = recycle_seconds
        self._on_release = on_release
        self._idle: list[_Kept] = []

    def use(self) -> _Use:
        """A connection, kept afterwards if it is still sound."""
        return _Use(self)

    async def close(self) -> None:
        """Close every kept connection of the running loop (others are dropped)."""
        loop = asyncio.get_running_loop()
        idle, self._idle = self._idle, []
        for owner, _born, conn in idle:
            if owner is loop:
                await conn.close()

    async def _take(self) -> _Kept:
        loop = asyncio.get_running_loop()
        while self._idle:
            kept = self._idle.pop()
            if kept[0] is not loop:
                continue  # a connection of another loop cannot be used (or closed) here
            if _sound(kept[2].sync_connection):
                return kept
        return loop, time.monotonic(), await self._engine.connect()

    async def _give_back(self, kept: _Kept) -> None:
        conn = kept[2]
        # State is read on the synchronous connection itself: each of the async
        # proxy's properties goes through two more calls, on every use.
        sync = conn.sync_connection
        if sync is not None and sync.in_transaction():
            # Only the implicit transaction of a plain read (it sent no BEGIN).
            try:
                await conn.rollback()
            except Exception:  # noqa: BLE001 - the use succeeded; the pool drops it
                await conn.close()
                return
        if self._on_release is not None and sync is not None and not sync.closed:
            self._on_release(conn)
        aged = 0 <= self._recycle < time.monotonic() - kept[1]
        if not _sound(sync) or aged or len(self._idle) >= self._keep or self._pool_dry():
            await conn.close()
            return
        self._idle.append(kept)

    def _pool_dry(self) -> bool:
        # Nothing left in the pool: someone may be waiting for a connection.
        pool = self._pool
        if pool is None:
            return True
        limit = pool._max_overflow  # no public accessor
        return pool.checkedin() == 0 and limit >= 0 and pool.overflow() >= limit


def _sound(sync: Connection | None) -> bool:
    # An async connection's synchronous one: started, neither closed nor invalidated.
    return sync is not None and not sync.closed and not sync.invalidated


class _Use:
    """One use of a kept connection: a class, not a generator-based context manager,
    since every read of the data layer enters one (a third of a door's own cost)."""

    __slots__ = ("_held", "_kept")

    def __init__(self, kept: KeptConnections) -> None:
        self._kept = kept

    async def __aenter__(self) -> AsyncConnection:
        self._held = await self._kept._take()
        return self._held[2]

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _tb: object
    ) -> None:
        if kind is None or issubclass(kind, Exception):
            await self._kept._give_back(self._held)
        else:
            # Cancelled, perhaps mid-statement: its state is unknown, the pool decides.
            await asyncio.shield(self._held[2].close())
