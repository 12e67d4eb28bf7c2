"""Creating and dropping the per-run test databases on either backend."""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import psycopg
from sqlalchemy.engine import make_url

from agentfold_core.db.engine import Database, create_database
from agentfold_core.migrations import upgrade

Backend = Literal["sqlite", "postgresql"]


@dataclass
class TestDatabases:
    """The two databases of one test run."""

    __test__ = False

    backend: Backend
    manage: Database
    runtime: Database
    manage_url: str
    runtime_url: str
    names: tuple[str, ...] = ()


def postgres_server_url() -> str | None:
    """The PostgreSQL server URL tests may use, if configured."""
    return os.environ.get("AGENTFOLD_TEST_POSTGRES_URL") or None


def closed_port() -> int:
    """A local TCP port nothing listens on (bound once, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _admin_conninfo(server_url: str) -> str:
    url = make_url(server_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _database_url(server_url: str, name: str) -> str:
    url = make_url(server_url).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False)


async def create_test_databases(
    backend: Backend, directory: Path, *, schema: bool = True
) -> TestDatabases:
    """Create both databases for ``backend`` and, unless ``schema`` is off, migrate them."""
    if backend == "sqlite":
        manage_url = f"sqlite+aiosqlite:///{directory / 'manage.db'}"
        runtime_url = f"sqlite+aiosqlite:///{directory / 'runtime.db'}"
        names: tuple[str, ...] = ()
    else:
        server = postgres_server_url()
        assert server is not None
        token = f"{os.getpid()}_{secrets.token_hex(3)}"
        names = (f"agentfold_test_{token}_manage", f"agentfold_test_{token}_runtime")
        with psycopg.connect(_admin_conninfo(server), autocommit=True) as admin:
            for name in names:
                admin.execute(f'CREATE DATABASE "{name}"')
        manage_url, runtime_url = (_database_url(server, n) for n in names)
    dbs = TestDatabases(
        backend=backend,
        manage=create_database(manage_url, "manage"),
        runtime=create_database(runtime_url, "runtime"),
        manage_url=manage_url,
        runtime_url=runtime_url,
        names=names,
    )
    if schema:
        await build_schema(dbs)
    return dbs


async def build_schema(dbs: TestDatabases) -> None:
    """Build both schemas with the real migrations (upgrade to head), as users do."""
    await upgrade(dbs.manage)
    await upgrade(dbs.runtime)


async def drop_test_databases(dbs: TestDatabases) -> None:
    """Dispose the engines and drop the PostgreSQL databases of this run."""
    await dbs.manage.dispose()
    await dbs.runtime.dispose()
    server = postgres_server_url()
    if dbs.backend == "postgresql" and server is not None:
        with psycopg.connect(_admin_conninfo(server), autocommit=True) as admin:
            for name in dbs.names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
