"""SQLite transactions end on the caller's thread (``db.sqlite_wal``): a COMMIT costs
no hop to the driver's thread, a refused COMMIT is rolled back at once, and the log is
checkpointed in the background, off the loop's thread, at a steady pace instead of inside
a COMMIT."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from agentfold_core.db import sqlite_wal
from agentfold_core.db.engine import Database, create_database
from agentfold_core.settings import DatabaseSettings


@dataclass
class Traced:
    """Every statement SQLite ran for a database, with whether the loop's thread ran it."""

    statements: list[tuple[str, bool]] = field(default_factory=list)

    def on_loop(self, sql: str) -> list[bool]:
        """For each run of ``sql``: was it on the event loop's thread?"""
        return [on_loop for ran, on_loop in self.statements if ran == sql]

    def clear(self) -> None:
        """Forget what was traced so far."""
        self.statements.clear()


def _database(path: Path, **settings: Any) -> Database:
    url = f"sqlite+aiosqlite:///{path}"
    return create_database(url, "runtime", DatabaseSettings.model_validate(settings))


@pytest.fixture
async def traced(tmp_path: Path) -> AsyncIterator[tuple[Database, Traced]]:
    db = _database(tmp_path / "wal.db")
    trace = Traced()
    loop_thread = threading.get_ident()

    @event.listens_for(db.engine.sync_engine, "connect")
    def _trace(dbapi_conn: Any, _record: Any) -> None:
        raw = dbapi_conn.driver_connection._conn
        raw.set_trace_callback(
            lambda sql: trace.statements.append((sql, threading.get_ident() == loop_thread))
        )

    async with db.write() as conn:
        await conn.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        await conn.execute(
            text(
                "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER "
                "REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED, body TEXT)"
            )
        )
    trace.clear()
    try:
        yield db, trace
    finally:
        await db.dispose()


_COUNTS = {t: text(f"SELECT count(*) FROM {t}") for t in ("parent", "child")}  # noqa: S608


async def _count(db: Database, table: str) -> int:
    async with db.read() as conn:
        return int((await conn.execute(_COUNTS[table])).scalar_one())


async def test_a_write_commits_on_the_loops_thread(traced: tuple[Database, Traced]) -> None:
    db, trace = traced
    async with db.write() as conn:
        await conn.execute(text("INSERT INTO parent VALUES (1)"))
    assert trace.on_loop("COMMIT") == [True]
    # Committed for everyone: another connection sees the row.
    other = _database(Path(str(db.file)))
    try:
        assert await _count(other, "parent") == 1
    finally:
        await other.dispose()


async def test_a_plain_read_ends_with_no_statement(traced: tuple[Database, Traced]) -> None:
    db, trace = traced
    assert await _count(db, "parent") == 0
    # SQLAlchemy ended the read's implicit transaction; SQLite had none: nothing sent.
    assert [sql for sql, _ in trace.statements] == ["SELECT count(*) FROM parent"]


async def test_a_refused_commit_is_rolled_back_at_once(
    traced: tuple[Database, Traced], tmp_path: Path
) -> None:
    db, trace = traced
    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        async with db.write() as conn:
            await conn.execute(text("INSERT INTO child VALUES (1, 99, 'orphan')"))
    assert trace.on_loop("ROLLBACK") == [True]
    # The connection's next user (the same kept connection) sees none of it ...
    assert await _count(db, "child") == 0
    # ... and the write lock is free: another connection writes at once.
    other = _database(tmp_path / "wal.db", sqlite_busy_timeout_ms=100)
    try:
        async with other.write() as conn:
            await conn.execute(text("INSERT INTO parent VALUES (7)"))
    finally:
        await other.dispose()
    async with db.write() as conn:
        await conn.execute(text("INSERT INTO child VALUES (2, 7, 'kept')"))
    assert await _count(db, "child") == 1


async def test_the_log_is_checkpointed_in_the_background(
    traced: tuple[Database, Traced],
) -> None:
    db, trace = traced
    async with db.read() as conn:
        # SQLite's own checkpoint would run inside a COMMIT, on the loop's thread.
        assert (await conn.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one() == 0
    checkpoints = db.checkpoints
    assert checkpoints is not None
    for n in range(2 * sqlite_wal.CHECKPOINT_EVERY + 10):
        async with db.write() as conn:
            await conn.execute(text("INSERT INTO parent VALUES (:n)"), {"n": n})
        if n == sqlite_wal.CHECKPOINT_EVERY - 1:
            # Started in the background: the writer that set it off did not wait.
            assert trace.on_loop(sqlite_wal.CHECKPOINT) == []
            await checkpoints.wait()
    await checkpoints.wait()
    # Two checkpoints, each its bulk and then its tail in a writer's turn.
    assert trace.on_loop(sqlite_wal.CHECKPOINT) == [False] * 4


async def _log_size_after_writes(path: Path, writes: int) -> int:
    db = _database(path)
    try:
        async with db.write() as conn:
            await conn.execute(text("CREATE TABLE t (body TEXT)"))
        for _ in range(writes):
            async with db.write() as conn:
                await conn.execute(text("INSERT INTO t VALUES (:b)"), {"b": "x" * 8000})
        return os.stat(f"{path}-wal").st_size
    finally:
        await db.dispose()


async def test_the_log_stays_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writes = 4 * sqlite_wal.CHECKPOINT_EVERY
    checkpointed = await _log_size_after_writes(tmp_path / "paced.db", writes)
    monkeypatch.setattr(sqlite_wal, "CHECKPOINT_EVERY", 10 * writes)
    unchecked = await _log_size_after_writes(tmp_path / "unpaced.db", writes)
    # Without checkpoints the log holds every write (3 pages of 4 KiB each at least);
    # with them it restarts after each and holds about one interval's worth.
    assert unchecked > writes * 8000
    assert checkpointed < unchecked / 2


async def test_a_failed_checkpoint_is_logged_and_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sqlite_wal, "CHECKPOINT_EVERY", 5)
    monkeypatch.setattr(sqlite_wal, "CHECKPOINT", "PRAGMA wal_checkpoint(NO_SUCH_MODE")
    db = _database(tmp_path / "failing.db")
    checkpoints = db.checkpoints
    assert checkpoints is not None
    try:
        async with db.write() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER)"))
        with caplog.at_level(logging.WARNING, logger="agentfold_core.db"):
            for n in range(10):
                async with db.write() as conn:
                    await conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
                await checkpoints.wait()
        failures = [r for r in caplog.records if "checkpoint" in r.getMessage()]
        # Both intervals tried; the writes went on (a checkpoint is housekeeping).
        assert len(failures) == 2
        async with db.read() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 10
    finally:
        await db.dispose()


_SLOW = text(
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000) "
    "SELECT count(*) FROM c"
)


async def test_a_cancelled_write_rolls_back_behind_its_running_statement(
    traced: tuple[Database, Traced],
) -> None:
    db, trace = traced

    async def write() -> None:
        async with db.write() as conn:
            await conn.execute(text("INSERT INTO parent VALUES (1)"))
            await conn.execute(_SLOW)

    task = asyncio.create_task(write())
    async with asyncio.timeout(30):
        # Polled: the trace has no event to wait on.
        while not any(sql.startswith("WITH RECURSIVE") for sql, _ in trace.statements):  # noqa: ASYNC110
            await asyncio.sleep(0.005)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with asyncio.timeout(30):
        # The ROLLBACK waits on the driver's thread for the statement to end, not on
        # the event loop's (which would stall every other request meanwhile).
        while "ROLLBACK" not in [sql for sql, _ in trace.statements]:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
    assert trace.on_loop("ROLLBACK") == [False]
    assert await _count(db, "parent") == 0
    async with db.write() as conn:
        await conn.execute(text("INSERT INTO parent VALUES (2)"))
    assert await _count(db, "parent") == 1
