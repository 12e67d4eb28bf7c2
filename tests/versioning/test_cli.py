"""The ``agentfold vc`` command: verify and repair a branch, readable and as JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select, text

from agentfold_core.cli import build_parser
from agentfold_core.data_access.documents import put_full_project
from agentfold_core.db.engine import create_database
from agentfold_core.scopes import ProjectScope
from agentfold_core.versioning.operations import log
from agentfold_core.versioning.tables import heads
from tests.conftest import Ids
from tests.migrations.conftest import Agentfold
from tests.support.databases import TestDatabases
from tests.support.project_document import realistic_project

SUBCOMMANDS = ("verify", "repair", "repair-triggers")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _sql_now(dbs: TestDatabases, sql: str, params: dict[str, str]) -> None:
    # From a test without an event loop (the CLI runs its own): a connection of its own.
    async def run() -> None:
        database = create_database(dbs.manage_url, "manage")
        try:
            async with database.write() as conn:
                await conn.execute(text(sql), params)
        finally:
            await database.dispose()

    asyncio.run(run())


@pytest.fixture
async def project(databases: TestDatabases, ids: Ids) -> ProjectScope:
    """A realistic project, committed."""
    scope = ProjectScope(ids.tenant, ids.project)
    put = put_full_project(databases.manage, databases.runtime)
    await put(scopes=scope, document=realistic_project(ids.project))
    return scope


def test_vc_help_documents_every_subcommand_and_option(
    agentfold: Callable[[TestDatabases | None], Agentfold],
) -> None:
    result = agentfold(None)("vc", "--help")
    assert result.status == 0
    for name in SUBCOMMANDS:
        assert re.search(rf"\n    {name}\s", result.out), name
    assert "AGENTFOLD_MANAGE_DATABASE_URL" in result.out
    parsers = _subparsers(_subparsers(build_parser())["vc"])
    assert set(parsers) == set(SUBCOMMANDS)
    for name, parser in parsers.items():
        shown = agentfold(None)("vc", name, "--help")
        assert shown.status == 0
        assert shown.out.startswith(f"usage: agentfold vc {name} ")
        for action in parser._actions:
            assert action.help, f"{name}: {action.dest} has no help"
            for option in action.option_strings:
                assert option in shown.out, f"{name} --help does not mention {option}"


def test_verify_and_repair_a_branch(
    databases: TestDatabases,
    project: ProjectScope,
    agentfold: Callable[[TestDatabases | None], Agentfold],
) -> None:
    run = agentfold(databases)
    where = ("--tenant", project.tenant_id, "--project", project.project_id)
    label = f"{project.tenant_id}/{project.project_id}@main"

    clean = run("vc", "verify", *where)
    assert clean.status == 0, clean.err
    assert re.fullmatch(
        rf"{label}: the head manifest \(commit [0-9a-f]{{40}}\) matches all \d+ working rows\n",
        clean.out,
    )
    as_json = json.loads(run("vc", "verify", *where, "--json").out)
    assert as_json["clean"] is True
    assert as_json["mismatches"] == []
    assert as_json["rows"] > 30
    assert (as_json["tenant_id"], as_json["project_id"], as_json["branch"]) == (
        project.tenant_id,
        project.project_id,
        "main",
    )

    # A manifest entry edited by hand.
    bogus = "f" * 40
    _sql_now(
        databases,
        "UPDATE vc_heads SET row_hash = :h WHERE tenant_id = :t AND project_id = :p "
        "AND table_name = 'sub_agents' AND row_key = :k",
        {"h": bogus, "t": project.tenant_id, "p": project.project_id, "k": "triage\x1frouter"},
    )
    found = run("vc", "verify", *where, "--branch", "main")
    assert found.status == 1
    lines = found.out.splitlines()
    assert lines[0].startswith(f"{label}: 1 row differ")
    assert lines[1].startswith(
        f"  - sub_agents triage/router: the row differs from the head manifest (manifest {bogus}, "
    )
    assert lines[2] == (
        f"  fix: agentfold vc repair --tenant {project.tenant_id} "
        f"--project {project.project_id} --branch main"
    )
    report = json.loads(run("vc", "verify", *where, "--json").out)
    assert report["clean"] is False
    [mismatch] = report["mismatches"]
    assert mismatch["table"] == "sub_agents"
    assert mismatch["key"] == ["triage", "router"]
    assert mismatch["kind"] == "changed"
    assert mismatch["manifest_hash"] == bogus
    working = mismatch["working_hash"]

    repaired = run("vc", "repair", *where, "--author", "ops", "-m", "Fix by hand")
    assert repaired.status == 0, repaired.err
    lines = repaired.out.splitlines()
    commit = re.fullmatch(rf"{label}: repaired 1 row in commit ([0-9a-f]{{40}}):", lines[0])
    assert commit is not None
    assert lines[1].startswith("  - sub_agents triage/router: the row differs")
    newest = asyncio.run(_newest(databases, project))
    assert newest == (commit.group(1), "Fix by hand", "ops")
    assert run("vc", "verify", *where).status == 0

    nothing = run("vc", "repair", *where, "--json")
    assert nothing.status == 0
    assert json.loads(nothing.out) | {"repaired": []} == {
        "tenant_id": project.tenant_id,
        "project_id": project.project_id,
        "branch": "main",
        "commit": None,
        "repaired": [],
    }
    assert run("vc", "repair", *where).out == (
        f"{label}: nothing to repair; the head manifest matches the rows\n"
    )
    assert asyncio.run(_newest(databases, project))[0] == commit.group(1)
    # The head now records the hash verify reported for the row.
    assert asyncio.run(_head_hash(databases, project, "sub_agents", "triage\x1frouter")) == working


async def _newest(dbs: TestDatabases, scope: ProjectScope) -> tuple[str, str, str]:
    database = create_database(dbs.manage_url, "manage")
    try:
        newest = (await log(database)(scopes=scope)).data[0]
    finally:
        await database.dispose()
    return newest.id, newest.message, newest.author


async def _head_hash(dbs: TestDatabases, scope: ProjectScope, table: str, key: str) -> str:
    database = create_database(dbs.manage_url, "manage")
    try:
        async with database.read() as conn:
            stmt = select(heads.c.row_hash).where(
                heads.c.tenant_id == scope.tenant_id,
                heads.c.project_id == scope.project_id,
                heads.c.branch == "main",
                heads.c.table_name == table,
                heads.c.row_key == key,
            )
            return str((await conn.execute(stmt)).scalar_one())
    finally:
        await database.dispose()


def test_errors_are_one_line_with_status_1(
    databases: TestDatabases,
    project: ProjectScope,
    agentfold: Callable[[TestDatabases | None], Agentfold],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = agentfold(databases)
    where = ("--tenant", project.tenant_id, "--project", project.project_id)
    unknown = run("vc", "verify", *where, "--branch", "nope")
    assert unknown.status == 1
    assert unknown.err == (
        f"agentfold: error: no branch 'nope' in project {project.project_id!r}\n"
    )
    bad = run("vc", "repair", "--tenant", project.tenant_id, "--project", "Not An Id")
    assert bad.status == 1
    assert bad.err.startswith("agentfold: error: ")
    assert "Traceback" not in bad.err
    usage = run("vc", "verify", "--tenant", "acme")
    assert usage.status == 2
    assert "the following arguments are required: --project" in usage.err

    path = tmp_path / "none" / "manage.db"
    monkeypatch.setenv("AGENTFOLD_MANAGE_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    missing = run("vc", "verify", *where)
    assert missing.status == 1
    assert missing.err == (
        "agentfold: error: the manage database does not exist yet; "
        "create it: agentfold db upgrade --db manage\n"
    )
    assert not path.exists()
