"""What data-access functions accept as ``db``: a database or an open connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection

from agentfold_core.db.engine import Database

Db = Database | AsyncConnection


@asynccontextmanager
async def reading(db: Db, *, snapshot: bool = False) -> AsyncIterator[AsyncConnection]:
    """A connection to read with (``snapshot``: all statements see one state); a given
    connection is used as it is."""
    if isinstance(db, AsyncConnection):
        yield db
        return
    async with db.read(snapshot=snapshot) as conn:
        yield conn


@asynccontextmanager
async def writing(db: Db) -> AsyncIterator[AsyncConnection]:
    """A connection in a write transaction.

    Given a ``Database``, the transaction is this call's own and commits on success.
    Given a connection, the caller owns the transaction (and commits or rolls back).
    """
    if isinstance(db, AsyncConnection):
        yield db
        return
    async with db.write() as conn:
        yield conn
