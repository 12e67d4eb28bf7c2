"""``agentfold serve`` as a user runs it: a process that starts, or says in one line why not."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from agentfold_core.migrations import current, upgrade
from tests.support.databases import (
    Backend,
    TestDatabases,
    closed_port,
    create_test_databases,
    drop_test_databases,
)

# Litestar takes seconds to import on a busy machine; a server that never starts fails.
STARTUP_SECONDS = 120


def _environment(manage_url: str, runtime_url: str) -> dict[str, str]:
    return os.environ | {
        "AGENTFOLD_MANAGE_DATABASE_URL": manage_url,
        "AGENTFOLD_RUNTIME_DATABASE_URL": runtime_url,
    }


def _serve(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``agentfold serve`` expecting it to refuse to start."""
    return subprocess.run(
        [sys.executable, "-m", "agentfold_core.cli", "serve", "--port", str(closed_port()), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=STARTUP_SECONDS,
        check=False,
    )


def _assert_one_line(result: subprocess.CompletedProcess[str], cause: str, fix: str) -> None:
    said = result.stdout + result.stderr
    assert result.returncode == 1, said
    assert "Traceback" not in said
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, said
    assert result.stderr.startswith("agentfold: error: ")
    assert cause in result.stderr
    assert fix in result.stderr


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_serve_on_a_database_behind_its_migrations_says_so_in_one_line(
    backend: Backend, tmp_path: Path
) -> None:
    dbs = await create_test_databases(backend, tmp_path, schema=False)
    try:
        await upgrade(dbs.manage, "0002")
        await upgrade(dbs.runtime)
        result = _serve(_environment(dbs.manage_url, dbs.runtime_url), tmp_path)
        _assert_one_line(
            result,
            "the manage database is behind its migrations (at 0002, head 0006)",
            "; fix: agentfold db upgrade --db manage",
        )
        # Nothing was migrated behind the operator's back.
        assert (await current(dbs.manage)).revisions == ("0002",)
    finally:
        await drop_test_databases(dbs)


async def _unreachable(backend: Backend, tmp_path: Path) -> tuple[TestDatabases, str]:
    # The manage database cannot be opened: a closed port, or a directory where the
    # SQLite file should be.
    dbs = await create_test_databases(backend, tmp_path, schema=False)
    if backend == "sqlite":
        (tmp_path / "manage.db").mkdir()
        return dbs, dbs.manage_url
    return dbs, make_url(dbs.manage_url).set(port=closed_port()).render_as_string(False)


async def test_serve_on_an_unreachable_database_says_so_in_one_line(
    backend: Backend, tmp_path: Path
) -> None:
    dbs, manage_url = await _unreachable(backend, tmp_path)
    try:
        result = _serve(_environment(manage_url, dbs.runtime_url), tmp_path, "--workers", "2")
        fix = {
            "sqlite": "check the file path of AGENTFOLD_MANAGE_DATABASE_URL",
            "postgresql": "is the server running, and do the host and port of "
            "AGENTFOLD_MANAGE_DATABASE_URL point at it?",
        }[backend]
        _assert_one_line(result, "the manage database failed: ", fix)
    finally:
        await drop_test_databases(dbs)


def test_serve_with_a_malformed_url_names_the_variable(tmp_path: Path) -> None:
    url = "postgresql+psycopg://app:pa@ss@db.example.com/agentfold"
    result = _serve(_environment("sqlite+aiosqlite:///m.db", url), tmp_path)
    _assert_one_line(
        result,
        "the runtime database URL (AGENTFOLD_RUNTIME_DATABASE_URL) is malformed",
        "percent-encode special characters of the user and password",
    )
    assert "pa@ss" not in result.stderr


def test_serve_starts_on_the_embedded_default_in_the_current_directory(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTFOLD_")}
    port = closed_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "agentfold_core.cli", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Straight to the loopback, whatever proxy the environment names.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert server.poll() is None, server.communicate()[1]
            try:
                with opener.open(f"http://127.0.0.1:{port}/health/ready") as answer:
                    assert answer.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert (tmp_path / ".agentfold" / "manage.db").is_file()
        assert (tmp_path / ".agentfold" / "runtime.db").is_file()
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_serve_help_lists_its_options() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agentfold_core.cli", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=STARTUP_SECONDS,
        check=True,
    )
    for option in ("--host", "--port", "--workers", "--reload"):
        assert option in result.stdout
