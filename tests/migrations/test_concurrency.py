"""Two processes upgrading one database at once end with one history and no error."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import text

from agentfold_core.migrations import check, current, spec_for
from agentfold_core.migrations.locking import sqlite_lock_path
from tests.support.databases import TestDatabases, postgres_server_url

WAITING = "waiting for lock"


@contextmanager
def manage_lock_held(dbs: TestDatabases) -> Iterator[None]:
    """Hold the manage database's migration lock, as a running upgrade would."""
    if dbs.backend == "sqlite":
        path = sqlite_lock_path(Path(dbs.manage_url.removeprefix("sqlite+aiosqlite:///")))
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)
        return
    server = postgres_server_url()
    assert server is not None
    conninfo = dbs.manage_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        key = spec_for("manage").lock_key
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


async def _until_all_say(paths: list[Path], words: str) -> None:
    for _ in range(1200):  # a minute at most
        if all(words in path.read_text() for path in paths):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not all said {words!r}: {[p.read_text() for p in paths]}")


async def test_two_concurrent_upgrades_leave_one_history(
    empty: TestDatabases, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "AGENTFOLD_MANAGE_DATABASE_URL": empty.manage_url,
        "AGENTFOLD_RUNTIME_DATABASE_URL": empty.runtime_url,
    }
    outs = [tmp_path / f"out-{i}.txt" for i in range(2)]
    errs = [tmp_path / f"err-{i}.txt" for i in range(2)]
    processes = []
    with manage_lock_held(empty):
        # Both start while the lock is taken, so both must wait, then race for it.
        for out, err in zip(outs, errs, strict=True):
            with out.open("w") as stdout, err.open("w") as stderr:
                processes.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        "agentfold_core.cli",
                        "db",
                        "upgrade",
                        "--db",
                        "all",
                        stdout=stdout,
                        stderr=stderr,
                        env=env,
                        cwd=tmp_path,
                    )
                )
        await _until_all_say(errs, WAITING)
    statuses = [await asyncio.wait_for(p.wait(), timeout=120) for p in processes]

    outputs = [path.read_text() for path in outs]
    errors = [path.read_text() for path in errs]
    assert statuses == [0, 0], (outputs, errors)
    for error in errors:
        lines = error.splitlines()
        assert lines, "each process said it was waiting"
        assert all(WAITING in line for line in lines), error
    heads = {"manage": "0006", "runtime": "0006"}
    for role, head in heads.items():
        applied = [out for out in outputs if f"{role}: upgraded <base> -> {head}" in out]
        idle = [out for out in outputs if f"{role}: already at {head}; nothing to do" in out]
        assert (len(applied), len(idle)) == (1, 1), outputs

    for database in (empty.manage, empty.runtime):
        version_table = spec_for(database.role).version_table
        async with database.read() as conn:
            query = text(f"SELECT version_num FROM {version_table}")  # noqa: S608 - from the spec
            rows = (await conn.execute(query)).all()
        assert [row[0] for row in rows] == [heads[database.role]]
        assert (await current(database)).at_head
        assert (await check(database)).ok
