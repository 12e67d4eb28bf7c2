"""The ``agentfold db`` command: complete help, readable output, offline SQL, errors."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable

import pytest

from agentfold_core.cli import build_parser
from agentfold_core.cli.output import migration_summary
from agentfold_core.migrations.results import AppliedStep, MigrationResult
from tests.migrations.conftest import Agentfold
from tests.support.databases import TestDatabases

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
MANAGE_HEAD = "0004"
MANAGE_0004 = "History of existing projects: a root commit per branch"
RUNTIME_0002 = "Tenant-wide API keys with roles; list-order indexes on every listed table"
RUNTIME_0003 = "Run records: runs, steps, LLM and tool calls, credits, retention settings"
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
    assert lines[0] == "manage: applying 4 revisions"
    assert lines[1].startswith("  [1/4] 0001 initial schema  ")
    assert lines[2].startswith("  [2/4] 0002 List-order indexes")
    assert lines[3].startswith("  [3/4] 0003 Version control: its tables")
    assert lines[4].startswith("  [4/4] 0004 History of existing projects")
    assert lines[5].startswith("manage: upgraded <base> -> 0004 (4 revisions in ")
    assert lines[6] == "runtime: applying 3 revisions"
    assert lines[8].startswith("  [2/3] 0002 Tenant-wide API keys with roles")
    assert lines[9].startswith("  [3/3] 0003 Run records")
    assert lines[10].startswith("runtime: upgraded <base> -> 0003 (3 revisions in ")
    assert up.err == ""

    now = run("db", "current")
    assert now.out.splitlines() == [
        f"manage: 0004 (head) {MANAGE_0004}",
        f"runtime: 0003 (head) {RUNTIME_0003}",
    ]
    history = run("db", "history", "--db", "manage", "--indicate-current", "--verbose")
    assert history.out.splitlines()[:2] == [
        "manage:",
        f"  0003 -> 0004 (head, current)  {MANAGE_0004}",
    ]
    assert "  <base> -> 0001  initial schema" in history.out.splitlines()
    assert "migrations/manage/versions/0001_initial_schema.py" in history.out

    down = run("db", "downgrade", "--db", "runtime", "-1")
    assert down.status == 0, down.err
    assert down.out.splitlines()[0] == "runtime: reverting 1 revision"
    assert down.out.splitlines()[-1].startswith("runtime: downgraded 0003 -> 0002 (1 revision")
    assert run("db", "current", "--db", "runtime").out.splitlines() == [
        f"runtime: 0002 {RUNTIME_0002}",
        "runtime: behind head 0003; run: agentfold db upgrade --db runtime",
    ]
    base = run("db", "downgrade", "--db", "runtime", "base")
    assert base.status == 0, base.err
    assert base.out.splitlines()[-1].startswith("runtime: downgraded 0002 -> <base> (2 revisions")
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
