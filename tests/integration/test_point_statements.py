"""What runs on the calling thread on SQLite, and what waits on the driver's thread.

A point statement (``db.prepared.run(..., point=True)``) runs on the calling thread
when it cannot wait: a read, or a write inside a write transaction, whose ``BEGIN
IMMEDIATE`` holds the lock. That ``BEGIN`` itself runs there when the lock is free at
once. Anything that may wait for another writer waits on the driver's thread, never
holding the event loop."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text

from agentfold_core.db.engine import Database, create_database
from agentfold_core.db.prepared import prepare, run
from agentfold_core.settings import DatabaseSettings
from tests.support.driver_thread import handed_to_thread

_T = Table("t", MetaData(), Column("n", Integer, primary_key=True))
_INSERT = insert(_T).values(n=text(":n")).returning(_T.c.n)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = create_database(
        f"sqlite+aiosqlite:///{tmp_path}/point.db",
        "runtime",
        DatabaseSettings.model_validate({"sqlite_busy_timeout_ms": 5000}),
    )
    async with database.write() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER PRIMARY KEY)"))
    yield database
    await database.dispose()


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The calls handed to aiosqlite's thread, by function name."""
    return handed_to_thread(monkeypatch)


async def test_a_point_write_in_a_write_transaction_stays_on_the_calling_thread(
    db: Database, hops: list[str]
) -> None:
    async with db.write() as conn:
        statement = prepare(_INSERT, conn.dialect)
        hops.clear()
        rows = await run(conn, statement, {"n": 1}, point=True)
        assert hops == []
        assert [tuple(r) for r in rows] == [(1,)]
    async with db.read() as conn:
        assert (await conn.execute(select(_T.c.n))).scalars().all() == [1]


async def test_a_point_write_outside_a_write_transaction_goes_to_the_driver_thread(
    db: Database, hops: list[str]
) -> None:
    async with db.engine.connect() as conn, conn.begin():
        # A plain ``BEGIN``: deferred, no lock held yet.
        statement = prepare(_INSERT, conn.dialect)
        hops.clear()
        await run(conn, statement, {"n": 2}, point=True)
        assert hops != []


@dataclass
class _Held:
    """Another connection's write lock, released after 0.3 s, and the event loop's
    turns counted meanwhile (every 5 ms while it runs)."""

    ticks: int = 0
    released: bool = False


@asynccontextmanager
async def _another_writer_holds_the_lock(db: Database) -> AsyncIterator[_Held]:
    path = db.file
    assert path is not None
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process's writer holds the lock
    held = _Held()

    async def ticker() -> None:
        while True:
            await asyncio.sleep(0.005)
            held.ticks += 1

    async def release_later() -> None:
        await asyncio.sleep(0.3)
        held.released = True
        other.execute("COMMIT")

    clock = asyncio.create_task(ticker())
    releaser = asyncio.create_task(release_later())
    try:
        yield held
    finally:
        clock.cancel()
        await releaser
        other.close()


async def test_a_point_write_waiting_for_another_writer_leaves_the_loop_running(
    db: Database,
) -> None:
    async with (
        _another_writer_holds_the_lock(db) as held,
        db.engine.connect() as conn,
        conn.begin(),
    ):
        statement = prepare(_INSERT, conn.dialect)
        rows = await run(conn, statement, {"n": 3}, point=True)
        # It waited for the lock (released after 0.3 s) and the loop ran meanwhile.
        assert held.released
        assert held.ticks >= 10
        assert [tuple(r) for r in rows] == [(3,)]


async def test_a_write_transaction_begins_on_the_calling_thread_when_the_lock_is_free(
    db: Database, hops: list[str]
) -> None:
    hops.clear()
    async with db.write() as conn:
        assert hops == []
        await conn.execute(text("INSERT INTO t VALUES (4)"))
    async with db.read() as conn:
        assert (await conn.execute(select(_T.c.n))).scalars().all() == [4]


async def test_a_write_transaction_waiting_for_another_writer_leaves_the_loop_running(
    db: Database, hops: list[str]
) -> None:
    async with _another_writer_holds_the_lock(db) as held:
        hops.clear()
        async with db.write() as conn:
            assert held.released
            assert held.ticks >= 10
            assert "_execute_fetchall" in hops  # the BEGIN waited on the driver's thread
            await conn.execute(text("INSERT INTO t VALUES (5)"))
    async with db.read() as conn:
        assert (await conn.execute(select(_T.c.n))).scalars().all() == [5]
