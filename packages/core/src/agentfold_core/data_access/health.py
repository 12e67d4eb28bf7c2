"""Reachability checks of the two databases, for health endpoints."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from agentfold_core.data_access.doors import reading_system
from agentfold_core.db.engine import Database


async def ping(db: Database, within: float = 2.0) -> bool:
    """Whether ``db`` answers a trivial query within ``within`` seconds."""
    try:
        async with asyncio.timeout(within), reading_system(db) as access:
            await access.conn.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError, TimeoutError):
        return False
    return True
