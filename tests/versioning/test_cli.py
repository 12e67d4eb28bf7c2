"""The ``agentfold vc`` command: history, diff, branches, tags, merge, revert, reset,
verify and repair, readable and as JSON, with its exit statuses."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import select, text

from agentfold_core.cli import build_parser
from agentfold_core.data_access.documents import put_full_project
from agentfold_core.data_access.manage.agents import create_agent, get_agent, update_agent
from agentfold_core.data_access.project_lifecycle import create_project
from agentfold_core.db.engine import Database, create_database
from agentfold_core.scopes import ProjectScope, TenantScope
from agentfold_core.versioning.branches import create_branch
from agentfold_core.versioning.operations import log
from agentfold_core.versioning.tables import heads
from tests.conftest import Ids
from tests.migrations.conftest import Agentfold
from tests.support.databases import TestDatabases
from tests.support.project_document import realistic_project

SUBCOMMANDS = (
    "log",
    "status",
    "diff",
    "branch",
    "tag",
    "merge",
    "revert",
    "reset",
    "verify",
    "repair",
    "repair-triggers",
)
# Subcommands with subcommands of their own.
NESTED = {"branch": ("list", "create", "delete"), "tag": ("list", "create", "delete")}
COMMIT = re.compile(r"[0-9a-f]{40}")
T = TypeVar("T")


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
    commands: list[tuple[list[str], argparse.ArgumentParser]] = []
    for name, parser in parsers.items():
        commands.append(([name], parser))
        nested = _subparsers(parser)
        assert tuple(nested) == NESTED.get(name, ()), name
        commands += [([name, action], sub) for action, sub in nested.items()]
    for words, parser in commands:
        name = " ".join(words)
        shown = agentfold(None)("vc", *words, "--help")
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


def test_errors_are_one_line_with_their_status(
    databases: TestDatabases,
    project: ProjectScope,
    agentfold: Callable[[TestDatabases | None], Agentfold],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = agentfold(databases)
    where = ("--tenant", project.tenant_id, "--project", project.project_id)
    unknown = run("vc", "verify", *where, "--branch", "nope")
    assert unknown.status == 2
    assert unknown.err == (
        f"agentfold: error: no branch 'nope' in project {project.project_id!r}\n"
    )
    bad = run("vc", "repair", "--tenant", project.tenant_id, "--project", "Not An Id")
    assert bad.status == 2
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


# --------------------------------------------------------------------------- history, refs, merge


def _now(dbs: TestDatabases, action: Callable[[Database], Awaitable[T]]) -> T:
    # From a test without an event loop (the CLI runs its own): a database of its own.
    async def run() -> T:
        database = create_database(dbs.manage_url, "manage")
        try:
            return await action(database)
        finally:
            await database.dispose()

    return asyncio.run(run())


def _head_of(dbs: TestDatabases, scope: ProjectScope, ref: str = "main") -> str:
    async def head(db: Database) -> str:
        return (await log(db)(scopes=scope.at(ref), limit=1)).data[0].id

    return _now(dbs, head)


def _agent_name(dbs: TestDatabases, scope: ProjectScope, agent_id: str) -> str | None:
    async def name(db: Database) -> str | None:
        found = await get_agent(db)(scopes=scope, agent_id=agent_id)
        return None if found is None else found.name

    return _now(dbs, name)


def _rename(dbs: TestDatabases, scope: ProjectScope, agent_id: str, name: str) -> None:
    async def rename(db: Database) -> None:
        await update_agent(db)(scopes=scope, agent_id=agent_id, data={"name": name})

    _now(dbs, rename)


@pytest.fixture
async def scenario(databases: TestDatabases, ids: Ids) -> ProjectScope:
    """A project with agent ``a`` on main, and a branch ``feature`` renaming it and
    adding agent ``b``."""
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    main = ProjectScope(ids.tenant, ids.project)
    await create_agent(databases.manage)(scopes=main, data={"id": "a", "name": "A"})
    await create_branch(databases.manage)(scopes=main, name="feature")
    feature = main.at("feature")
    await update_agent(databases.manage)(scopes=feature, agent_id="a", data={"name": "A2"})
    await create_agent(databases.manage)(scopes=feature, data={"id": "b", "name": "B"})
    return main


def _where(scope: ProjectScope) -> tuple[str, ...]:
    return ("--tenant", scope.tenant_id, "--project", scope.project_id)


def _json_of(result: Any) -> Any:
    assert result.status == 0, result.err
    return json.loads(result.out)


def test_log_status_and_diff(
    databases: TestDatabases,
    scenario: ProjectScope,
    agentfold: Callable[[TestDatabases | None], Agentfold],
) -> None:
    run = agentfold(databases)
    where = _where(scenario)

    shown = run("vc", "log", *where, "--ref", "feature", "--limit", "2")
    assert shown.status == 0, shown.err
    lines = shown.out.splitlines()
    assert re.fullmatch(
        r"feature: \d+ commits, newest first \(showing 2; --limit N for more\)", lines[0]
    )
    assert len(lines) == 3
    assert re.match(r"[0-9a-f]{12}  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  \S+  ", lines[1])
    as_json = _json_of(run("vc", "log", *where, "--ref", "feature", "--json"))
    assert as_json["ref"] == "feature"
    assert as_json["commits"][0]["id"] == _head_of(databases, scenario, "feature")
    assert lines[1].startswith(as_json["commits"][0]["id"][:12])
    assert len(as_json["commits"]) == as_json["total"] >= 3
    unknown = run("vc", "log", *where, "--ref", "nope")
    assert unknown.status == 2
    assert unknown.err == f"agentfold: error: no ref 'nope' in project {scenario.project_id!r}\n"
    assert run("vc", "log", *where, "--limit", "0").status == 2

    head = _head_of(databases, scenario)
    label = f"{scenario.tenant_id}/{scenario.project_id}@main"
    assert run("vc", "status", *where).out == (f"{label}: at commit {head}; nothing uncommitted\n")
    assert _json_of(run("vc", "status", *where, "--json")) == {
        "branch": "main",
        "head": head,
        "clean": True,
        "changes": [],
    }
    missing = run("vc", "status", *where, "--branch", "nope")
    assert missing.status == 2
    assert "'nope'" in missing.err

    changed = run("vc", "diff", "main", "feature", *where)
    assert changed.status == 0, changed.err
    lines = changed.out.splitlines()
    assert re.fullmatch(
        r"main \([0-9a-f]{12}\) -> feature \([0-9a-f]{12}\): 2 rows differ in 1 table", lines[0]
    )
    assert lines[1:] == [
        "  agents  1 added, 1 modified, 0 removed",
        "rows:",
        "  ~ agents a (modified): name, updated_at",
        "  + agents b (added)",
    ]
    values = run("vc", "diff", "main", "feature", *where, "--rows").out
    assert '      name: "A" -> "A2"' in values
    assert '      name: "B"' in values
    payload = _json_of(run("vc", "diff", "main", "feature", *where, "--json"))
    assert payload["from_commit"] == head
    assert payload["to_commit"] == _head_of(databases, scenario, "feature")
    assert payload["counts"] == {"agents": {"added": 1, "modified": 1, "removed": 0}}
    assert [(r["kind"], r["key"]) for r in payload["rows"]] == [
        ("modified", ["a"]),
        ("added", ["b"]),
    ]
    assert "before" not in payload["rows"][0]
    full = _json_of(run("vc", "diff", "main", "feature", *where, "--json", "--rows"))
    assert full["rows"][0]["before"]["name"] == "A"
    # TO defaults to main.
    assert run("vc", "diff", "feature", *where).out.startswith("feature (")
    assert run("vc", "diff", "main", *where).out.endswith(": no differences\n")
    bad = run("vc", "diff", "main", "nope", *where)
    assert bad.status == 2
    assert bad.err == f"agentfold: error: no ref 'nope' in project {scenario.project_id!r}\n"


def test_branches_and_tags(
    databases: TestDatabases,
    scenario: ProjectScope,
    agentfold: Callable[[TestDatabases | None], Agentfold],
) -> None:
    run = agentfold(databases)
    where = _where(scenario)
    head = _head_of(databases, scenario)

    listed = run("vc", "branch", "list", *where)
    assert listed.status == 0, listed.err
    assert [line.split()[:2] for line in listed.out.splitlines()] == [
        ["feature", _head_of(databases, scenario, "feature")],
        ["main", head],
    ]
    created = run("vc", "branch", "create", "draft", "--from", "feature~2", *where)
    assert created.status == 0, created.err
    assert created.out == f"created branch 'draft' at commit {head} (from feature~2)\n"
    assert _agent_name(databases, scenario.at("draft"), "a") == "A"
    info = _json_of(run("vc", "branch", "create", "draft2", *where, "--json"))
    assert (info["name"], info["head"], info["from"]) == ("draft2", head, "main")
    names = [b["name"] for b in _json_of(run("vc", "branch", "list", *where, "--json"))["branches"]]
    assert names == ["draft", "draft2", "feature", "main"]
    taken = run("vc", "branch", "create", "feature", *where)
    assert taken.status == 1
    assert taken.err == (
        f"agentfold: error: 'feature' already names a branch or tag of project "
        f"{scenario.project_id!r}\n"
    )
    unknown = run("vc", "branch", "create", "x", "--from", "nope", *where)
    assert unknown.status == 2
    assert "'nope'" in unknown.err

    assert run("vc", "branch", "delete", "draft", *where).out == (
        "deleted branch 'draft' and the runtime rows that ran against it\n"
    )
    assert _json_of(run("vc", "branch", "delete", "draft2", *where, "--json")) == {
        "deleted": "draft2"
    }
    gone = run("vc", "branch", "delete", "draft", *where)
    assert gone.status == 2
    assert gone.err == f"agentfold: error: no branch 'draft' in project {scenario.project_id!r}\n"
    kept = run("vc", "branch", "delete", "main", *where)
    assert kept.status == 2
    assert kept.err == "agentfold: error: the default branch 'main' cannot be deleted\n"

    tagged = run("vc", "tag", "create", "v1", "--ref", "feature", "-m", "First", *where)
    assert tagged.status == 0, tagged.err
    feature_head = _head_of(databases, scenario, "feature")
    assert tagged.out == f"tagged commit {feature_head} as 'v1' (from feature)\n"
    tag = _json_of(run("vc", "tag", "create", "v0", *where, "--author", "ops", "--json"))
    assert (tag["name"], tag["commit_id"], tag["author"]) == ("v0", head, "ops")
    tags = _json_of(run("vc", "tag", "list", *where, "--json"))["tags"]
    assert [(t["name"], t["commit_id"], t["message"]) for t in tags] == [
        ("v0", head, None),
        ("v1", feature_head, "First"),
    ]
    assert run("vc", "tag", "list", *where).out.splitlines()[1].endswith("  First")
    # A tag reads like any ref.
    assert _json_of(run("vc", "log", *where, "--ref", "v1", "--json"))["commits"][0]["id"] == (
        feature_head
    )
    dup = run("vc", "tag", "create", "v1", *where)
    assert dup.status == 1
    assert "'v1' already names a branch or tag" in dup.err
    assert run("vc", "tag", "delete", "v0", *where).out == "deleted tag 'v0'\n"
    missing = run("vc", "tag", "delete", "v0", *where)
    assert missing.status == 2
    assert missing.err == f"agentfold: error: no tag 'v0' in project {scenario.project_id!r}\n"
    bad = run("vc", "tag", "create", "no good", *where)
    assert bad.status == 2
    assert "Traceback" not in bad.err


def test_merge_fast_forward_revert_and_reset(
    databases: TestDatabases,
    scenario: ProjectScope,
    agentfold: Callable[[TestDatabases | None], Agentfold],
) -> None:
    run = agentfold(databases)
    where = _where(scenario)
    before = _head_of(databases, scenario)
    theirs = _head_of(databases, scenario, "feature")

    preview = run("vc", "merge", "feature", *where, "--preview")
    assert preview.status == 0, preview.err
    assert f"would fast-forward main to {theirs} (2 rows to write)" in preview.out
    assert _head_of(databases, scenario) == before
    merged = run("vc", "merge", "feature", *where, "--json")
    result = _json_of(merged)
    assert (result["commit_id"], result["fast_forward"], result["rows"]) == (theirs, True, 2)
    assert _agent_name(databases, scenario, "b") == "B"
    again = run("vc", "merge", "feature", *where)
    assert again.out == f"main is already up to date with feature (commit {theirs})\n"
    unknown = run("vc", "merge", "nope", *where)
    assert unknown.status == 2
    assert unknown.err == f"agentfold: error: no ref 'nope' in project {scenario.project_id!r}\n"

    # Revert the rename (feature's first commit), keeping agent b.
    renamed = _json_of(run("vc", "log", *where, "--ref", "feature~1", "--limit", "1", "--json"))
    rename = renamed["commits"][0]["id"]
    reverted = run("vc", "revert", rename[:10], *where, "--author", "ops")
    assert reverted.status == 0, reverted.err
    found = re.fullmatch(
        rf"reverted {rename[:10]} on main: commit ([0-9a-f]{{40}}) \(1 row written\)\n",
        reverted.out,
    )
    assert found is not None
    assert _head_of(databases, scenario) == found.group(1)
    assert (_agent_name(databases, scenario, "a"), _agent_name(databases, scenario, "b")) == (
        "A",
        "B",
    )
    missing = run("vc", "revert", "deadbeef00", *where)
    assert missing.status == 2
    assert "'deadbeef00'" in missing.err

    reverted_head = _head_of(databases, scenario)
    reset = _json_of(run("vc", "reset", before, *where, "--json"))
    assert reset == {
        "commit_id": before,
        "base": None,
        "fast_forward": False,
        "up_to_date": False,
        "committed": False,
        "rows": 1,  # agent b: the revert gave a back its row as it was
        "branch": "main",
        "previous": reverted_head,
    }
    assert _head_of(databases, scenario) == before
    assert _agent_name(databases, scenario, "b") is None
    undo = run("vc", "reset", reverted_head, *where)
    assert undo.status == 0, undo.err
    assert undo.out.splitlines() == [
        f"reset main from {before} to {reverted_head} ({reverted_head}; 1 row written)",
        f"  undo: agentfold vc reset {before} --branch main --tenant {scenario.tenant_id} "
        f"--project {scenario.project_id}",
    ]
    bad = run("vc", "reset", "nope", *where, "--branch", "feature")
    assert bad.status == 2
    assert bad.err == f"agentfold: error: no ref 'nope' in project {scenario.project_id!r}\n"
    # Only branches move: a tag is a read-only ref.
    assert run("vc", "tag", "create", "v1", *where).status == 0
    readonly = run("vc", "reset", "main~1", *where, "--branch", "v1")
    assert readonly.status == 2
    assert readonly.err.startswith("agentfold: error: ")
    assert "Traceback" not in readonly.err


def test_merge_conflicts_are_listed_and_change_nothing(
    databases: TestDatabases,
    scenario: ProjectScope,
    agentfold: Callable[[TestDatabases | None], Agentfold],
) -> None:
    run = agentfold(databases)
    where = _where(scenario)
    _rename(databases, scenario, "a", "Main")
    ours = _head_of(databases, scenario)
    theirs = _head_of(databases, scenario, "feature")

    preview = run("vc", "merge", "feature", *where, "--preview")
    assert preview.status == 1
    assert "  would stop on 1 conflict:" in preview.out
    assert "  CONFLICT agents a (modify/modify): name" in preview.out

    stopped = run("vc", "merge", "feature", *where)
    assert stopped.status == 1
    assert stopped.out.splitlines() == [
        "1 unresolved conflict; nothing was changed:",
        "  CONFLICT agents a (modify/modify): name",
        "  resolve every one with --ours or --theirs (preview first: --preview)",
    ]
    assert stopped.err == (
        "agentfold: error: merging 'feature' has 1 unresolved conflicts: "
        "agents 'a' (modify/modify)\n"
    )
    assert _head_of(databases, scenario) == ours
    assert _agent_name(databases, scenario, "a") == "Main"
    assert _agent_name(databases, scenario, "b") is None

    as_json = run("vc", "merge", "feature", *where, "--json")
    assert as_json.status == 1
    payload = json.loads(as_json.out)
    [conflict] = payload["conflicts"]
    assert (conflict["table"], conflict["key"], conflict["kind"], conflict["columns"]) == (
        "agents",
        ["a"],
        "modify/modify",
        ["name"],
    )
    assert (conflict["ours"]["name"], conflict["theirs"]["name"]) == ("Main", "A2")
    assert payload["resolved"] is False
    assert _head_of(databases, scenario) == ours

    resolved_preview = _json_of(
        run("vc", "merge", "feature", *where, "--preview", "--theirs", "--json")
    )
    assert (resolved_preview["ours"], resolved_preview["theirs"]) == (ours, theirs)
    assert resolved_preview["conflicts"] == []
    assert [c["resolution"] for c in resolved_preview["resolved"]] == ["theirs"]

    merged = run("vc", "merge", "feature", *where, "--ours", "-m", "Keep ours", "--author", "ops")
    assert merged.status == 0, merged.err
    lines = merged.out.splitlines()
    done = re.fullmatch(
        r"merged feature into main: commit ([0-9a-f]{40}) \(\d+ rows? written\)", lines[0]
    )
    assert done is not None
    assert lines[1:] == ["  resolved (ours) agents a (modify/modify): name"]
    assert _agent_name(databases, scenario, "a") == "Main"
    assert _agent_name(databases, scenario, "b") == "B"
    newest = _json_of(run("vc", "log", *where, "--limit", "1", "--json"))["commits"][0]
    assert (newest["id"], newest["message"], newest["author"]) == (
        done.group(1),
        "Keep ours",
        "ops",
    )
    assert (newest["parent_id"], newest["merge_parent_id"]) == (ours, theirs)
    assert run("vc", "merge", "feature", *where, "--ours", "--theirs").status == 2
