"""The migration lock: one upgrade at a time per database, across processes.

PostgreSQL: a transaction-level advisory lock, taken inside the migration transaction
and released by its commit or rollback. SQLite: an exclusive ``flock`` on a lock file
beside the database file (the file stays; deleting a lock file races with its users).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import Connection, text

OnWait = Callable[[str], None]


def sqlite_lock_path(database: Path) -> Path:
    """The lock file guarding migrations of the SQLite file ``database``."""
    return database.with_name(f"{database.name}.migrate.lock")


@asynccontextmanager
async def sqlite_file_lock(database: Path, on_wait: OnWait) -> AsyncIterator[Path]:
    """Hold the migration lock file of ``database``, waiting (and saying so) if it is taken."""
    path = sqlite_lock_path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            on_wait(f"waiting for lock {path} (another migration of this database is running)")
            await asyncio.to_thread(fcntl.flock, descriptor, fcntl.LOCK_EX)
        yield path
    finally:
        os.close(descriptor)  # closing the descriptor releases the lock


def postgres_advisory_lock(connection: Connection, key: int, name: str, on_wait: OnWait) -> None:
    """Take the transaction-level advisory lock ``key``, waiting (and saying so) if it is taken."""
    acquired = connection.execute(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key}
    ).scalar_one()
    if not acquired:
        on_wait(
            f"waiting for lock on the {name} database "
            f"(advisory lock {key}; another migration of this database is running)"
        )
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
