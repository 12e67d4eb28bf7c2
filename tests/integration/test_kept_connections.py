"""Connections kept between uses (``db.kept``): reused by the next use, given back to
the pool when it runs dry (so a waiting caller is served), never kept when the pool
is asked to ping each checkout."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from agentfold_core.db.engine import Database, create_database
from agentfold_core.settings import DatabaseSettings


def _database(tmp_path: Path, **settings: object) -> Database:
    url = f"sqlite+aiosqlite:///{tmp_path}/kept.db"
    return create_database(url, "runtime", DatabaseSettings.model_validate(settings))


async def test_the_next_read_reuses_the_kept_connection(tmp_path: Path) -> None:
    db = _database(tmp_path)
    try:
        async with db.read() as first:
            await first.execute(text("SELECT 1"))
        async with db.read() as second, db.read(snapshot=True) as third:
            assert second is first
            assert third is not first  # in use meanwhile: another connection
    finally:
        await db.dispose()


async def test_a_dry_pool_gets_the_connection_back_for_its_waiter(tmp_path: Path) -> None:
    db = _database(tmp_path, pool_size=1, max_overflow=0, pool_timeout=3)

    async def read_once() -> int:
        async with db.read() as conn:
            return int((await conn.execute(text("SELECT 7"))).scalar_one())

    try:
        async with db.read() as held:
            await held.execute(text("SELECT 1"))
            waiter = asyncio.create_task(read_once())
            await asyncio.sleep(0.1)  # the waiter now waits on the pool's one connection
            assert not waiter.done()
        # Kept, the connection would never reach the pool: the waiter would time out.
        assert await asyncio.wait_for(waiter, timeout=10) == 7
    finally:
        await db.dispose()


async def test_nothing_is_kept_when_each_checkout_is_pinged(tmp_path: Path) -> None:
    db = _database(tmp_path, pool_pre_ping=True)
    try:
        async with db.read() as first:
            await first.execute(text("SELECT 1"))
        async with db.read() as second:
            assert second is not first
    finally:
        await db.dispose()
