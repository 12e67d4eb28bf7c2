"""Scratch databases for the benchmarks: SQLite files in a temporary directory, or two
PostgreSQL databases created on a server and dropped at the end (never the server's
own databases)."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from agentfold_core.db.engine import Database, create_database


@dataclass(frozen=True)
class Scratch:
    """The two databases of one benchmark run, and how to reach the manage one raw."""

    manage: Database
    runtime: Database
    manage_raw: str  # a file path (SQLite) or a libpq conninfo (PostgreSQL)


@asynccontextmanager
async def sqlite_scratch() -> AsyncIterator[Scratch]:
    """Two SQLite files in a temporary directory."""
    with tempfile.TemporaryDirectory() as tmp:
        manage_path, runtime_path = Path(tmp, "manage.db"), Path(tmp, "runtime.db")
        manage = create_database(f"sqlite+aiosqlite:///{manage_path}", "manage")
        runtime = create_database(f"sqlite+aiosqlite:///{runtime_path}", "runtime")
        try:
            yield Scratch(manage, runtime, str(manage_path))
        finally:
            await manage.dispose()
            await runtime.dispose()


@asynccontextmanager
async def postgres_scratch(server_url: str, label: str) -> AsyncIterator[Scratch]:
    """Two scratch databases ``agentfold_<label>_<hex>_{manage,runtime}`` on the server
    of ``server_url``, dropped (with their connections) on exit."""
    server = make_url(server_url)
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    token = secrets.token_hex(3)
    names = [f"agentfold_{label}_{token}_{role}" for role in ("manage", "runtime")]
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    urls = [
        server.set(drivername="postgresql+psycopg", database=name).render_as_string(
            hide_password=False
        )
        for name in names
    ]
    manage = create_database(urls[0], "manage")
    runtime = create_database(urls[1], "runtime")
    raw = server.set(drivername="postgresql", database=names[0])
    try:
        yield Scratch(manage, runtime, raw.render_as_string(hide_password=False))
    finally:
        await manage.dispose()
        await runtime.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def analyze(database: Database) -> None:
    """Planner statistics of every table of a PostgreSQL database, committed: an
    ``ANALYZE`` in a transaction that ends in a rollback (a read's) leaves none behind,
    since ``pg_statistic`` is transactional, and the planner then guesses every
    equality to select almost nothing."""
    if database.backend != "postgresql":
        return
    async with database.write() as conn:
        await conn.exec_driver_sql("ANALYZE")
