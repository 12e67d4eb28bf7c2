"""SQLite write transactions of one process take turns (``db.writer_turns``): a writer
starts when the one before it ends instead of sleeping in SQLite's busy handler, and a
task that opens a second write while holding one still gets SQLite's error, not a
hang."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from agentfold_core.db.engine import Database, create_database
from agentfold_core.db.writer_turns import WriterTurns
from agentfold_core.settings import DatabaseSettings


def _database(tmp_path: Path, **settings: object) -> Database:
    url = f"sqlite+aiosqlite:///{tmp_path}/turns.db"
    return create_database(url, "runtime", DatabaseSettings.model_validate(settings))


async def test_concurrent_writers_wait_for_their_turn_outside_sqlite(tmp_path: Path) -> None:
    db = _database(tmp_path)
    turns = db.turns
    assert turns is not None
    try:
        async with db.write() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER)"))
        written: list[int] = []

        async def writer(n: int) -> None:
            async with db.write() as conn:
                await conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
                written.append(n)

        async with db.write() as held:
            await held.execute(text("INSERT INTO t VALUES (0)"))
            others = [asyncio.create_task(writer(n)) for n in range(1, 5)]
            async with asyncio.timeout(30):
                # Polled: the queue has no event to wait on.
                while turns.waiting < 4:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
            # All four queue in the process, none in SQLite's busy handler.
            assert written == []
        await asyncio.gather(*others)
        assert sorted(written) == [1, 2, 3, 4]
        assert turns.waiting == 0
        async with db.read() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 5
    finally:
        await db.dispose()


async def test_a_second_write_inside_a_write_fails_as_sqlite_does(tmp_path: Path) -> None:
    db = _database(tmp_path, sqlite_busy_timeout_ms=200)
    try:
        async with db.write() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER)"))
        async with db.write() as outer:
            await outer.execute(text("INSERT INTO t VALUES (1)"))
            with pytest.raises(OperationalError, match="database is locked"):
                # Bounded: the turn gives up after the busy timeout, then SQLite does.
                async with asyncio.timeout(30), db.write() as inner:
                    await inner.execute(text("INSERT INTO t VALUES (2)"))
        async with db.read() as conn:
            assert (await conn.execute(text("SELECT n FROM t"))).scalars().all() == [1]
    finally:
        await db.dispose()


def test_postgresql_databases_do_not_take_turns() -> None:
    url = "postgresql+psycopg://user@localhost:5432/unused"
    assert create_database(url, "manage").turns is None


async def test_a_free_turn_is_taken_without_yielding_to_the_loop() -> None:
    turns = WriterTurns(timeout=5)
    ran: list[str] = []
    asyncio.get_running_loop().call_soon(ran.append, "other")
    async with turns.turn():
        # Nothing else ran in between: the writer's transaction starts at once.
        assert ran == []
    await asyncio.sleep(0)
    assert ran == ["other"]
