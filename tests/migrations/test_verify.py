"""``verify``: the read-only startup check names what is missing and how to fix it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from agentfold_core.db.engine import create_database
from agentfold_core.migrations import (
    SchemaNotReady,
    current,
    inspect_schema,
    upgrade,
    verify_schema,
)
from tests.migrations.conftest import Agentfold
from tests.migrations.test_cli import (
    ROW_SECURITY,
    RUNTIME_0002,
    RUNTIME_0003,
    RUNTIME_0004,
    RUNTIME_0005,
)
from tests.support.databases import TestDatabases


async def _drop_column_and_table(dbs: TestDatabases) -> None:
    async with dbs.manage.write() as conn:
        await conn.execute(text("DROP TABLE sub_agent_skills"))
        await conn.execute(text("ALTER TABLE agents DROP COLUMN prompt"))


async def test_verify_passes_at_head(empty: TestDatabases) -> None:
    await upgrade(empty.manage)
    report = await verify_schema(empty.manage, mode="strict")
    assert report.ok
    assert report.problems() == []
    assert report.revisions == report.heads


async def test_verify_reports_a_missing_table_and_column_precisely(
    empty: TestDatabases, caplog: pytest.LogCaptureFixture
) -> None:
    await upgrade(empty.manage)
    await _drop_column_and_table(empty)

    with caplog.at_level(logging.WARNING, logger="agentfold_core.migrations"):
        report = await verify_schema(empty.manage, mode="warning")
    assert not report.ok
    assert report.missing_tables == ("sub_agent_skills",)
    assert report.missing_columns == (("agents", "prompt"),)
    assert report.missing_revisions == ()
    assert report.problems() == [
        "missing tables: sub_agent_skills",
        "missing columns: agents.prompt",
    ]
    assert report.fix_command == "agentfold db upgrade --db manage"
    # Only verify's own records: other loggers (Alembic's) may be live after earlier tests.
    messages = [r.getMessage() for r in caplog.records if r.name == "agentfold_core.migrations"]
    assert messages == [
        "manage database: missing tables: sub_agent_skills",
        "manage database: missing columns: agents.prompt",
        "manage database: fix: agentfold db upgrade --db manage",
    ]

    with pytest.raises(SchemaNotReady) as raised:
        await verify_schema(empty.manage, mode="strict")
    assert str(raised.value) == (
        "the manage database is not ready: missing tables: sub_agent_skills; "
        "missing columns: agents.prompt; fix: agentfold db upgrade --db manage"
    )
    assert raised.value.context["report"] == report


async def test_verify_reports_revisions_not_applied(empty: TestDatabases) -> None:
    report = await inspect_schema(empty.runtime)
    assert report.missing_revisions == (
        ("0001", "initial schema"),
        ("0002", RUNTIME_0002),
        ("0003", RUNTIME_0003),
        ("0004", RUNTIME_0004),
        ("0005", RUNTIME_0005),
        ("0006", ROW_SECURITY),
    )
    assert "tenants" in report.missing_tables
    assert (
        "revisions not applied: 0001 (initial schema), "
        f"0002 ({RUNTIME_0002}), 0003 ({RUNTIME_0003}), 0004 ({RUNTIME_0004}), "
        f"0005 ({RUNTIME_0005}), 0006 ({ROW_SECURITY})" in report.problems()
    )
    assert report.fix_command == "agentfold db upgrade --db runtime"
    # Read-only: inspecting created nothing.
    assert (await current(empty.runtime)).revisions == ()


async def test_verify_reports_a_revision_unknown_to_this_version(empty: TestDatabases) -> None:
    await upgrade(empty.runtime)
    async with empty.runtime.write() as conn:
        await conn.execute(text("UPDATE alembic_version_runtime SET version_num = '0042'"))
    report = await inspect_schema(empty.runtime)
    assert report.unknown_revisions == ("0042",)
    assert report.problems() == [
        "the database is at revision 0042, which this version of agentfold does not know"
    ]
    assert "agentfold db downgrade --db runtime 0006" in report.fix_command


async def test_verify_does_not_create_a_missing_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "manage.db"
    database = create_database(f"sqlite+aiosqlite:///{path}", "manage")
    try:
        report = await inspect_schema(database)
    finally:
        await database.dispose()
    assert not report.exists
    assert report.problems()[0] == f"the database file {path} does not exist"
    assert not path.exists()
    assert not path.parent.exists() or not any(path.parent.iterdir())


def test_cli_verify_names_the_fix(
    empty: TestDatabases, agentfold: Callable[[TestDatabases | None], Agentfold]
) -> None:
    run = agentfold(empty)
    assert run("db", "upgrade", "--db", "manage").status == 0
    result = run("db", "verify")
    assert result.status == 1
    # An empty SQLite database is a file not created yet; say so before the rest.
    path = empty.runtime_url.removeprefix("sqlite+aiosqlite:///")
    missing_file = [f"  - the database file {path} does not exist"]
    assert result.out.splitlines() == [
        "manage: ready (at 0006)",
        "runtime: not ready",
        *(missing_file if empty.backend == "sqlite" else []),
        "  - revisions not applied: 0001 (initial schema), "
        f"0002 ({RUNTIME_0002}), 0003 ({RUNTIME_0003}), 0004 ({RUNTIME_0004}), "
        f"0005 ({RUNTIME_0005}), 0006 ({ROW_SECURITY})",
        "  - missing tables: agent_runs, agent_steps, api_keys, audit_events, context_cache, "
        "conversations, "
        "credential_secrets, credit_grants, credit_ledger, events, feedback, ledger_artifacts, "
        "llm_calls, messages, project_metadata, task_relations, tasks, tenants, tool_calls, "
        "trigger_invocations",
        "  fix: agentfold db upgrade --db runtime",
    ]
    assert run("db", "upgrade", "--db", "runtime").status == 0
    assert run("db", "verify").status == 0
