"""Scratch databases for the benchmarks: SQLite files in a temporary directory, or two
PostgreSQL databases created on a server and dropped at the end (never the server's
own databases)."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from agentfold_core.db.engine import Database, create_database
from agentfold_core.settings import DatabaseSettings


@dataclass(frozen=True)
class Scratch:
    """The two databases of one benchmark run, and how to reach the manage one raw."""

    manage: Database
    runtime: Database
    manage_raw: str  # a file path (SQLite) or a libpq conninfo (PostgreSQL)
    # The manage database as a role that row-level security does not restrict (the
    # same ``Database`` unless the service runs as an application role): statistics
    # and the hand-written baselines go through it.
    manage_unrestricted: Database | None = None

    @property
    def baseline(self) -> Database:
        """The manage database for hand-written SQL."""
        return self.manage_unrestricted or self.manage


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


@asynccontextmanager
async def postgres_app_role_scratch(server_url: str) -> AsyncIterator[Scratch]:
    """Row-level security on, as production runs it: scratch databases migrated by an
    owner role and used by an application role that every policy applies to; the
    hand-written baselines run as the server's user (a superuser) on the same data."""
    # The test suite's helper (the caller puts the repository root on the path); it
    # makes the scratch roles and databases on the server this variable names.
    from tests.support.row_security import app_role_databases

    os.environ["AGENTFOLD_TEST_POSTGRES_URL"] = server_url
    async with app_role_databases() as dbs:
        superuser = make_url(server_url).username
        unrestricted = make_url(dbs.manage_url).set(username=superuser)
        baseline = create_database(
            unrestricted.render_as_string(hide_password=False),
            "manage",
            DatabaseSettings(row_security=False),
        )
        raw = unrestricted.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            yield Scratch(dbs.manage, dbs.runtime, raw, baseline)
        finally:
            await baseline.dispose()
