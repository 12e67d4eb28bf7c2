"""``agentfold vc``: check and repair the version control of the manage database."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from agentfold_core.cli.db import _formatter, _group_formatter, _print
from agentfold_core.db.engine import Database, create_database
from agentfold_core.migrations import MigrationError, repair_capture_triggers
from agentfold_core.migrations.session import database_errors, database_exists
from agentfold_core.scopes import DEFAULT_BRANCH, ProjectScope
from agentfold_core.settings import DatabaseSettings
from agentfold_core.versioning.verify import DEFAULT_MESSAGE, Mismatch, Repair, Verification
from agentfold_core.versioning.verify import repair as repair_branch
from agentfold_core.versioning.verify import verify as verify_branch

DESCRIPTION = """\
Every write to the manage database commits, captured by database triggers on each
versioned table. These commands check that history matches the rows and bring it
back when something wrote behind the triggers' back (a trigger dropped or disabled,
a partial restore, a head manifest edited by hand).
The database is the one the settings name:
  AGENTFOLD_MANAGE_DATABASE_URL   default sqlite+aiosqlite:///./.agentfold/manage.db"""

T = TypeVar("T")


async def _with_manage(action: Callable[[Database], Awaitable[T]]) -> T:
    settings = DatabaseSettings()
    database = create_database(settings.manage_database_url, "manage", settings)
    try:
        if not database_exists(database):
            # Connecting would create an empty SQLite file: say so instead.
            raise MigrationError(
                "the manage database does not exist yet; create it: "
                "agentfold db upgrade --db manage"
            )
        with database_errors("manage"):
            return await action(database)
    finally:
        await database.dispose()


def _scope(args: argparse.Namespace) -> ProjectScope:
    return ProjectScope(args.tenant, args.project, ref=args.branch)


def _where(report: Verification | Repair) -> str:
    return f"{report.tenant_id}/{report.project_id}@{report.branch}"


def _mismatch_json(mismatch: Mismatch) -> dict[str, Any]:
    return {
        "table": mismatch.table,
        "row_key": mismatch.row_key,
        "key": mismatch.row_key.split("\x1f"),
        "kind": mismatch.kind,
        "manifest_hash": mismatch.manifest,
        "working_hash": mismatch.working,
    }


def _repair_command(report: Verification) -> str:
    return (
        f"agentfold vc repair --tenant {report.tenant_id} --project {report.project_id} "
        f"--branch {report.branch}"
    )


def verify_lines(report: Verification) -> list[str]:
    """The verdict of a re-scan, for people."""
    head = report.head or "none"
    if report.clean:
        return [
            f"{_where(report)}: the head manifest (commit {head}) matches all "
            f"{report.rows} working rows"
        ]
    count = len(report.mismatches)
    lines = [
        f"{_where(report)}: {count} row{'s' if count != 1 else ''} differ from the head "
        f"manifest (commit {head}; {report.rows} working rows):"
    ]
    lines += [f"  - {m.describe()}" for m in report.mismatches]
    lines.append(f"  fix: {_repair_command(report)}")
    return lines


def repair_lines(report: Repair) -> list[str]:
    """What a repair did, for people."""
    if not report.repaired:
        return [f"{_where(report)}: nothing to repair; the head manifest matches the rows"]
    count = len(report.repaired)
    rows = f"{count} row{'s' if count != 1 else ''}"
    if report.commit is None:
        lines = [
            f"{_where(report)}: {rows} differ from the head manifest, but committing them "
            "recorded no change: commits and the re-scan hash these rows differently "
            "(a bug of agentfold; please report it with this output):"
        ]
    else:
        lines = [f"{_where(report)}: repaired {rows} in commit {report.commit}:"]
    lines += [f"  - {m.describe()}" for m in report.repaired]
    return lines


def _verify(args: argparse.Namespace) -> int:
    report = asyncio.run(_with_manage(lambda db: verify_branch(db)(scopes=_scope(args))))
    if args.json:
        payload = report.model_dump(exclude={"mismatches"})
        payload["clean"] = report.clean
        payload["mismatches"] = [_mismatch_json(m) for m in report.mismatches]
        print(json.dumps(payload, indent=2), flush=True)
    else:
        _print(verify_lines(report))
    return 0 if report.clean else 1


def _repair(args: argparse.Namespace) -> int:
    report = asyncio.run(
        _with_manage(
            lambda db: repair_branch(db)(
                scopes=_scope(args), message=args.message, author=args.author
            )
        )
    )
    if args.json:
        payload = report.model_dump(exclude={"repaired"})
        payload["repaired"] = [_mismatch_json(m) for m in report.repaired]
        print(json.dumps(payload, indent=2), flush=True)
    else:
        _print(repair_lines(report))
    return 1 if report.repaired and report.commit is None else 0


def _repair_triggers(_args: argparse.Namespace) -> int:
    missing = asyncio.run(_with_manage(repair_capture_triggers))
    if not missing:
        print("manage: every versioned table has its capture triggers", flush=True)
        return 0
    for found in missing:
        print(
            f"manage: reinstalled the capture triggers of {found.table} "
            f"(missing: {', '.join(found.triggers)})",
            flush=True,
        )
    print(
        "manage: writes made while they were missing are not in history; check each "
        "project written since: agentfold vc verify --tenant T --project P",
        flush=True,
    )
    return 0


def _branch_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant", required=True, help="the tenant id")
    parser.add_argument("--project", required=True, help="the project id")
    parser.add_argument(
        "--branch", default=DEFAULT_BRANCH, help=f"the branch (default: {DEFAULT_BRANCH})"
    )
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")


def add_parser(groups: Any) -> None:
    """Add ``vc`` and its subcommands to the ``agentfold`` parser."""
    parser = groups.add_parser(
        "vc",
        help="verify and repair the version control of the manage database",
        description=DESCRIPTION,
        formatter_class=_group_formatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)

    summary = "Check a branch's rows against its head manifest (read-only)"
    verify = commands.add_parser(
        "verify",
        help=summary,
        description=f"{summary}.\n\n"
        "Reads every row of the branch in every versioned table, hashes it as commits\n"
        "do and compares it with the manifest of the branch head. Names each row the\n"
        "manifest lacks, each manifest entry whose row is gone and each row whose hash\n"
        "differs. Exits 1 when it finds any (fix them with `agentfold vc repair`).",
        epilog="examples:\n  agentfold vc verify --tenant acme --project support\n"
        "  agentfold vc verify --tenant acme --project support --branch draft --json",
        formatter_class=_formatter,
    )
    _branch_options(verify)
    verify.set_defaults(handler=_verify)

    summary = "Commit the rows a branch and its head manifest disagree on"
    repair = commands.add_parser(
        "repair",
        help=summary,
        description=f"{summary}.\n\n"
        "Runs the same re-scan as verify and records each mismatching row as written,\n"
        "in one transaction that makes one commit of the rows as they are (none when\n"
        "nothing mismatched). The repair shows in the log with its message and author.",
        epilog="example:\n  agentfold vc repair --tenant acme --project support --author ops",
        formatter_class=_formatter,
    )
    _branch_options(repair)
    repair.add_argument(
        "-m",
        "--message",
        default=DEFAULT_MESSAGE,
        help=f"commit message (default: {DEFAULT_MESSAGE})",
    )
    repair.add_argument("--author", help="commit author (default: agentfold)")
    repair.set_defaults(handler=_repair)

    summary = "Reinstall missing or disabled capture triggers"
    triggers = commands.add_parser(
        "repair-triggers",
        help=summary,
        description=f"{summary}.\n\n"
        "`agentfold db check` and `agentfold db verify` report a versioned table whose\n"
        "capture triggers are missing; `db upgrade` does not bring back a trigger of a\n"
        "revision already applied: this does, under the migration lock. Writes made\n"
        "while a trigger was missing are not in history: verify each project after.",
        formatter_class=_formatter,
    )
    triggers.set_defaults(handler=_repair_triggers)
