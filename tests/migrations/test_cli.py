"""The ``agentfold db`` command: complete help, readable output, offline SQL, errors."""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

import agentfold_api
import agentfold_core
from agentfold_core.cli import build_parser
from agentfold_core.cli.output import migration_summary
from agentfold_core.migrations.results import AppliedStep, MigrationResult
from tests.migrations.conftest import Agentfold
from tests.support.databases import Backend, TestDatabases, closed_port, postgres_server_url

SUBCOMMANDS = (
    "upgrade",
    "downgrade",
    "current",
    "history",
    "revision",
    "check",
    "verify",
    "check-references",
)
# Messages of the newest revisions (the first line of their docstrings).
MANAGE_HEAD = "0006"
MANAGE_0006 = (
    "Commit path: capture pausable per branch, no commit parent index, fewer per-row checks"
)
MANAGE_0004 = "History of existing projects: a root commit per branch"
ROW_SECURITY = "Row-level security: every tenant-scoped table confined to the transaction's tenant"
RUNTIME_0002 = "Tenant-wide API keys with roles; list-order indexes on every listed table"
RUNTIME_0003 = "Run records: runs, steps, LLM and tool calls, credits, retention settings"
RUNTIME_0004 = "Credential secrets: the sealed secrets of the encrypted credential store"
RUNTIME_0005 = "Security audit log: audit events of each tenant; failed attempts per API key"
# Commands that need both databases at once take no --db.
BOTH_DATABASES = {"check-references"}


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_db_help_lists_every_subcommand_and_the_settings(
    agentfold: Callable[[TestDatabases | None], Agentfold],
) -> None:
    result = agentfold(None)("db", "--help")
    assert result.status == 0
    for name in SUBCOMMANDS:
        # A long name puts its summary on the next line.
        assert re.search(rf"\n    {name}\s", result.out), name
    assert "AGENTFOLD_MANAGE_DATABASE_URL" in result.out
    assert "AGENTFOLD_RUNTIME_DATABASE_URL" in result.out
    assert set(_subparsers(_subparsers(build_parser())["db"])) == set(SUBCOMMANDS)


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_each_subcommand_help_documents_every_option(
    name: str, agentfold: Callable[[TestDatabases | None], Agentfold]
) -> None:
    parser = _subparsers(_subparsers(build_parser())["db"])[name]
    result = agentfold(None)("db", name, "--help")
    assert result.status == 0
    assert result.out.startswith(f"usage: agentfold db {name} ")
    assert ("--db {manage,runtime,all}" in result.out) == (name not in BOTH_DATABASES)
    for action in parser._actions:
        assert action.help, f"{name}: {action.dest} has no help"
        for option in action.option_strings or [action.dest]:
            assert option in result.out, f"{name} --help does not mention {option}"


def test_upgrade_current_history_downgrade(
    empty: TestDatabases, agentfold: Callable[[TestDatabases | None], Agentfold]
) -> None:
    run = agentfold(empty)
    before = run("db", "current")
    assert before.status == 0
    assert "manage: " in before.out
    assert "agentfold db upgrade --db manage" in before.out

    up = run("db", "upgrade", "--db", "all")
    assert up.status == 0, up.err
    lines = up.out.splitlines()
    assert lines[0] == "manage: applying 6 revisions"
    assert lines[1].startswith("  [1/6] 0001 initial schema  ")
    assert lines[2].startswith("  [2/6] 0002 List-order indexes")
    assert lines[3].startswith("  [3/6] 0003 Version control: its tables")
    assert lines[4].startswith("  [4/6] 0004 History of existing projects")
    assert lines[5].startswith("  [5/6] 0005 Row-level security")
    assert lines[6].startswith("  [6/6] 0006 Commit path")
    assert lines[7].startswith("manage: upgraded <base> -> 0006 (6 revisions in ")
    assert lines[8] == "runtime: applying 6 revisions"
    assert lines[10].startswith("  [2/6] 0002 Tenant-wide API keys with roles")
    assert lines[11].startswith("  [3/6] 0003 Run records")
    assert lines[12].startswith("  [4/6] 0004 Credential secrets")
    assert lines[13].startswith("  [5/6] 0005 Security audit log")
    assert lines[14].startswith("  [6/6] 0006 Row-level security")
    assert lines[15].startswith("runtime: upgraded <base> -> 0006 (6 revisions in ")
    assert up.err == ""

    now = run("db", "current")
    assert now.out.splitlines() == [
        f"manage: 0006 (head) {MANAGE_0006}",
        f"runtime: 0006 (head) {ROW_SECURITY}",
    ]
    history = run("db", "history", "--db", "manage", "--indicate-current", "--verbose")
    assert history.out.splitlines()[:2] == [
        "manage:",
        f"  0005 -> 0006 (head, current)  {MANAGE_0006}",
    ]
    assert "  <base> -> 0001  initial schema" in history.out.splitlines()
    assert "migrations/manage/versions/0001_initial_schema.py" in history.out

    down = run("db", "downgrade", "--db", "runtime", "-2")
    assert down.status == 0, down.err
    assert down.out.splitlines()[0] == "runtime: reverting 2 revisions"
    assert down.out.splitlines()[-1].startswith("runtime: downgraded 0006 -> 0004 (2 revisions")
    assert run("db", "current", "--db", "runtime").out.splitlines() == [
        f"runtime: 0004 {RUNTIME_0004}",
        "runtime: behind head 0006; run: agentfold db upgrade --db runtime",
    ]
    base = run("db", "downgrade", "--db", "runtime", "base")
    assert base.status == 0, base.err
    assert base.out.splitlines()[-1].startswith("runtime: downgraded 0004 -> <base> (4 revisions")
    assert run("db", "current", "--db", "runtime").out.startswith(
        "runtime: no revision applied (empty database); run: agentfold db upgrade --db runtime"
    )


@pytest.mark.parametrize(
    "backend_url", ["sqlite+aiosqlite:///unused.db", "postgresql+psycopg://x/y"]
)
def test_offline_sql_for_each_dialect(
    backend_url: str,
    agentfold: Callable[[TestDatabases | None], Agentfold],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGENTFOLD_MANAGE_DATABASE_URL", backend_url)
    result = agentfold(None)("db", "upgrade", "--db", "manage", "--sql")
    assert result.status == 0, result.err
    assert result.out.startswith("-- agentfold manage database: upgrade head\n")
    assert "CREATE TABLE alembic_version_manage" in result.out
    assert "CREATE TABLE agents" in result.out
    trigger = "CREATE TRIGGER IF NOT EXISTS trg_tools_credential_reference_id_set_null"
    if backend_url.startswith("sqlite"):
        assert trigger in result.out
    else:
        assert trigger not in result.out
        assert "ON DELETE SET NULL (credential_reference_id)" in result.out
        assert "JSONB" in result.out
    down = agentfold(None)("db", "downgrade", "--db", "manage", "--sql", "0001:base")
    assert down.status == 0, down.err
    assert "DROP TABLE agents" in down.out


def test_errors_are_one_line_with_status_1(
    empty: TestDatabases, agentfold: Callable[[TestDatabases | None], Agentfold]
) -> None:
    run = agentfold(empty)
    result = run("db", "upgrade", "--db", "manage", "nope")
    assert result.status == 1
    assert result.err.startswith("agentfold: error: No such revision or branch 'nope'")
    assert "Traceback" not in result.err
    usage = run("db", "downgrade")
    assert usage.status == 2
    assert "the following arguments are required: revision" in usage.err


def test_the_summary_says_when_an_upgrade_committed_on_branches() -> None:
    step = AppliedStep(revision="0005", message="m", direction="upgrade", seconds=0.1)
    plain = MigrationResult("manage", "upgrade", ("0004",), ("0005",), (step,), 0.2)
    assert migration_summary(plain).startswith("manage: upgraded 0004 -> 0005 (1 revision in ")
    assert "committed" not in migration_summary(plain)
    two = MigrationResult("manage", "upgrade", ("0004",), ("0005",), (step,), 0.2, ("a", "b"))
    assert migration_summary(two).endswith("; committed what it changed on 2 branches")


# Every ``db`` command that only reads, with its arguments.
READ_ONLY = (
    ("db", "current"),
    ("db", "history", "--indicate-current"),
    ("db", "verify"),
    ("db", "check"),
    ("db", "check-references"),
)


@pytest.mark.parametrize("argv", READ_ONLY, ids=" ".join)
def test_read_only_commands_on_a_never_upgraded_database(
    argv: tuple[str, ...],
    empty: TestDatabases,
    agentfold: Callable[[TestDatabases | None], Agentfold],
    tmp_path: Path,
) -> None:
    result = agentfold(empty)(*argv)
    assert "Traceback" not in result.out + result.err
    if argv[1] == "check-references":
        assert result.status == 1
        assert result.err.count("\n") == 1
        assert result.err.startswith("agentfold: error: the manage database is not initialised (")
        assert result.err.endswith("; fix: agentfold db upgrade --db manage\n")
    else:
        assert result.status in (0, 1), result.err
    # Nothing was created: no SQLite file, no folder, no lock file; no revision applied.
    assert list(tmp_path.iterdir()) == []
    assert agentfold(empty)("db", "current").out.count("agentfold db upgrade --db") == 2


def test_check_references_names_a_database_behind_its_migrations(
    empty: TestDatabases, agentfold: Callable[[TestDatabases | None], Agentfold]
) -> None:
    run = agentfold(empty)
    assert run("db", "upgrade", "--db", "manage", "0002").status == 0
    assert run("db", "upgrade", "--db", "runtime").status == 0
    result = run("db", "check-references")
    assert (result.status, result.err) == (
        1,
        f"agentfold: error: the manage database is behind its migrations (at 0002, head "
        f"{MANAGE_HEAD}); fix: agentfold db upgrade --db manage\n",
    )


def _server_database_url(name: str, port: int | None = None) -> str:
    server = postgres_server_url()
    assert server is not None
    url = make_url(server).set(drivername="postgresql+psycopg", database=name)
    return (url.set(port=port) if port else url).render_as_string(hide_password=False)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_missing_postgres_database_says_how_to_create_it(
    backend: Backend,
    agentfold: Callable[[TestDatabases | None], Agentfold],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = f"agentfold_missing_{secrets.token_hex(3)}"
    monkeypatch.setenv("AGENTFOLD_RUNTIME_DATABASE_URL", _server_database_url(name))
    result = agentfold(None)("db", "current", "--db", "runtime")
    assert result.status == 1
    assert result.err.count("\n") == 1
    assert f'database "{name}" does not exist' in result.err
    assert f'create it: createdb {name} (or in psql: CREATE DATABASE "{name}")' in result.err
    assert "then agentfold db upgrade --db runtime" in result.err


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_an_unreachable_postgres_server_names_the_variable(
    backend: Backend,
    agentfold: Callable[[TestDatabases | None], Agentfold],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = _server_database_url("agentfold", port=closed_port())
    monkeypatch.setenv("AGENTFOLD_MANAGE_DATABASE_URL", url)
    result = agentfold(None)("db", "verify", "--db", "manage")
    assert result.status == 1
    assert result.err.count("\n") == 1
    assert "the manage database failed: " in result.err
    assert "Connection refused; is the server running, and do the host and port of " in (result.err)
    assert "AGENTFOLD_MANAGE_DATABASE_URL point at it?" in result.err


def test_version_names_core_and_the_installed_api(
    agentfold: Callable[[TestDatabases | None], Agentfold],
) -> None:
    result = agentfold(None)("--version")
    assert result.status == 0
    assert result.out.splitlines() == [
        f"agentfold-core {agentfold_core.__version__}",
        f"agentfold-api {agentfold_api.__version__}",
    ]
    assert agentfold_core.__version__ == version("agentfold-core")


def test_the_core_version_falls_back_without_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> str:
        raise PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    try:
        assert importlib.reload(agentfold_core).__version__ == "0.0.0+unknown"
    finally:
        monkeypatch.undo()
        importlib.reload(agentfold_core)
    assert agentfold_core.__version__ == version("agentfold-core")


def test_an_unopenable_sqlite_file_is_one_line_without_a_thread_traceback(tmp_path: Path) -> None:
    # The failed connection's aiosqlite thread outlived the event loop and printed a
    # traceback after the error, often but not always: a few runs catch it.
    (tmp_path / "manage.db").mkdir()
    url = f"sqlite+aiosqlite:///{tmp_path}/manage.db"
    env = os.environ | {"AGENTFOLD_MANAGE_DATABASE_URL": url}
    for _ in range(3):
        result = subprocess.run(
            [sys.executable, "-m", "agentfold_core.cli", "db", "upgrade", "--db", "manage"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 1
        assert result.stderr == (
            "agentfold: error: the manage database failed: unable to open database file; "
            "check the file path of AGENTFOLD_MANAGE_DATABASE_URL; its directory must be "
            "writable\n"
        )
