"""A versioned table without its capture triggers is written silently: ``check`` and
the startup check name it, and ``repair_capture_triggers`` (``agentfold vc
repair-triggers``) brings the triggers back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest
from sqlalchemy import select, text

from agentfold_core.data_access.manage.agents import create_agent
from agentfold_core.data_access.project_lifecycle import create_project
from agentfold_core.db.engine import Database, create_database
from agentfold_core.migrations import (
    SchemaNotReady,
    check,
    inspect_schema,
    repair_capture_triggers,
    upgrade,
    verify_schema,
)
from agentfold_core.scopes import ProjectScope, TenantScope
from agentfold_core.versioning.capture import CaptureSpec
from agentfold_core.versioning.rows import versioned_tables
from agentfold_core.versioning.tables import heads
from agentfold_core.versioning.verify import verify
from tests.migrations.conftest import Agentfold
from tests.support.databases import TestDatabases

REPAIR = "agentfold vc repair-triggers"


async def _drop_trigger(
    dbs: TestDatabases, table: str, event: str, *, database: Database | None = None
) -> None:
    name = f"vc_capture_{table}_{event}"
    sql = f"DROP TRIGGER {name}" if dbs.backend == "sqlite" else f"DROP TRIGGER {name} ON {table}"
    async with (database or dbs.manage).write() as conn:
        await conn.execute(text(sql))


def _drop_trigger_now(dbs: TestDatabases, table: str, event: str) -> None:
    # From a test without an event loop (the CLI runs its own): a connection of its own.
    async def drop() -> None:
        database = create_database(dbs.manage_url, "manage")
        try:
            await _drop_trigger(dbs, table, event, database=database)
        finally:
            await database.dispose()

    asyncio.run(drop())


async def _at_head(dbs: TestDatabases) -> None:
    await upgrade(dbs.manage)
    await upgrade(dbs.runtime)


async def test_check_passes_with_every_capture_trigger(empty: TestDatabases) -> None:
    await _at_head(empty)
    report = await check(empty.manage)
    assert report.ok, report.differences
    assert report.missing_capture == ()
    # Every versioned table has its three triggers, on both backends.
    async with empty.manage.read() as conn:
        if empty.backend == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        else:
            query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        names = {str(n) for (n,) in (await conn.execute(text(query))).all()}
    for versioned in versioned_tables():
        assert set(CaptureSpec.of(versioned).trigger_names(empty.backend)) <= names


async def test_check_and_verify_name_a_table_missing_a_capture_trigger(
    empty: TestDatabases, caplog: pytest.LogCaptureFixture
) -> None:
    await _at_head(empty)
    await _drop_trigger(empty, "sub_agent_skills", "update")
    await _drop_trigger(empty, "agents", "insert")
    await _drop_trigger(empty, "agents", "delete")

    report = await check(empty.manage)
    assert not report.ok
    assert report.differences == (
        "capture triggers of agents missing: vc_capture_agents_insert, vc_capture_agents_delete",
        "capture triggers of sub_agent_skills missing: vc_capture_sub_agent_skills_update",
    )
    assert report.missing_capture == ("agents", "sub_agent_skills")
    assert report.fix_command == REPAIR
    assert (await check(empty.runtime)).ok  # the runtime database versions nothing

    # The startup check: the problem and its fix (upgrade has nothing left to apply).
    schema = await inspect_schema(empty.manage)
    assert not schema.ok
    assert schema.missing_revisions == ()
    assert schema.missing_capture == ("agents", "sub_agent_skills")
    problem = (
        "capture triggers missing on agents, sub_agent_skills: "
        "version control does not see writes to them"
    )
    assert schema.problems() == [problem]
    assert schema.fix_command.startswith(REPAIR)
    with caplog.at_level(logging.WARNING, logger="agentfold_core.migrations"):
        await verify_schema(empty.manage, mode="warning")
    messages = [r.getMessage() for r in caplog.records if r.name == "agentfold_core.migrations"]
    assert messages[0] == f"manage database: {problem}"
    assert messages[1].startswith(f"manage database: fix: {REPAIR}")
    with pytest.raises(SchemaNotReady, match="capture triggers missing on agents"):
        await verify_schema(empty.manage, mode="strict")
    assert (await verify_schema(empty.runtime, mode="strict")).ok


async def test_repair_reinstalls_them_and_capture_works_again(empty: TestDatabases) -> None:
    await _at_head(empty)
    await _drop_trigger(empty, "agents", "insert")

    repaired = await repair_capture_triggers(empty.manage)
    assert [(m.table, m.triggers) for m in repaired] == [("agents", ("vc_capture_agents_insert",))]
    assert (await check(empty.manage)).ok
    assert (await verify_schema(empty.manage, mode="strict")).ok
    assert await repair_capture_triggers(empty.manage) == []
    assert await repair_capture_triggers(empty.runtime) == []

    # A new agent is captured, so its commit puts it in the head manifest.
    await create_project(empty.manage, empty.runtime)(
        scopes=TenantScope("acme"), data={"id": "support", "name": "Support"}
    )
    scope = ProjectScope("acme", "support")
    await create_agent(empty.manage)(scopes=scope, data={"id": "triage", "name": "Triage"})
    async with empty.manage.read() as conn:
        stmt = select(heads.c.row_key).where(heads.c.table_name == "agents")
        assert (await conn.execute(stmt)).scalars().all() == ["triage"]
    assert (await verify(empty.manage)(scopes=scope)).clean


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_disabled_trigger_counts_as_missing(backend: str, empty: TestDatabases) -> None:
    """Only PostgreSQL triggers can be disabled."""
    await _at_head(empty)
    async with empty.manage.write() as conn:
        await conn.execute(text("ALTER TABLE tools DISABLE TRIGGER vc_capture_tools_update"))
    report = await check(empty.manage)
    assert report.differences == ("capture triggers of tools missing: vc_capture_tools_update",)
    repaired = await repair_capture_triggers(empty.manage)
    assert [m.table for m in repaired] == ["tools"]
    assert (await check(empty.manage)).ok


def test_cli_check_verify_and_repair_triggers(
    empty: TestDatabases, agentfold: Callable[[TestDatabases | None], Agentfold]
) -> None:
    run = agentfold(empty)
    assert run("db", "upgrade").status == 0
    untouched = run("vc", "repair-triggers")
    assert untouched.status == 0, untouched.err
    assert untouched.out == "manage: every versioned table has its capture triggers\n"
    _drop_trigger_now(empty, "tools", "delete")
    failing = run("db", "check", "--db", "manage")
    assert failing.status == 1
    assert "manage: the models and the migration head (0006) disagree (1 difference):" in (
        failing.out
    )
    assert "  - capture triggers of tools missing: vc_capture_tools_delete" in failing.out
    assert f"  fix: {REPAIR}" in failing.out
    not_ready = run("db", "verify", "--db", "manage")
    assert not_ready.status == 1
    assert "  - capture triggers missing on tools: version control does not see writes" in (
        not_ready.out
    )
    assert f"  fix: {REPAIR}" in not_ready.out

    repaired = run("vc", "repair-triggers")
    assert repaired.status == 0, repaired.err
    assert repaired.out.splitlines()[0] == (
        "manage: reinstalled the capture triggers of tools (missing: vc_capture_tools_delete)"
    )
    assert "agentfold vc verify --tenant T --project P" in repaired.out
    assert run("db", "check", "--db", "manage").status == 0
    assert run("db", "verify").status == 0
