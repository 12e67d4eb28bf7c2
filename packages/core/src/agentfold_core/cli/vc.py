"""``agentfold vc``: the version control of the manage database for operators: log,
status, diff, branches, tags, merge, revert, reset, and verify/repair."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from agentfold_core.cli import aio
from agentfold_core.cli.db import _formatter, _group_formatter, _print
from agentfold_core.db.engine import Database, create_database
from agentfold_core.errors import AgentfoldError, NotFound, ValidationFailed
from agentfold_core.migrations import MigrationError, repair_capture_triggers
from agentfold_core.migrations.session import database_errors, database_exists
from agentfold_core.scopes import DEFAULT_BRANCH, ProjectScope
from agentfold_core.settings import DatabaseSettings
from agentfold_core.versioning.branches import (
    BranchInfo,
    TagInfo,
    create_branch,
    create_tag,
    delete_branch,
    delete_tag,
    list_branches,
    list_tags,
)
from agentfold_core.versioning.commit import Change
from agentfold_core.versioning.diff import Diff, RowDiff
from agentfold_core.versioning.diff import diff as diff_refs
from agentfold_core.versioning.merge import (
    MergeConflict,
    MergePreview,
    MergeResult,
    RowConflict,
    merge,
    merge_preview,
    reset,
    revert,
)
from agentfold_core.versioning.operations import (
    BranchStatus,
    CommitInfo,
    log,
    status,
)
from agentfold_core.versioning.rows import SEPARATOR
from agentfold_core.versioning.verify import DEFAULT_MESSAGE, Mismatch, Repair, Verification
from agentfold_core.versioning.verify import repair as repair_branch
from agentfold_core.versioning.verify import verify as verify_branch

DESCRIPTION = """\
Every write to the manage database commits on its project's branch, like git. These
commands show history (log, status, diff), manage branches and tags, merge, revert
and reset a branch, and check that history matches the rows (verify) and bring it
back when something wrote behind the capture triggers' back (repair).
Refs: a branch, a tag, a commit id (or a unique prefix of 7 or more), REF~N, REF^.
Exit status: 0 ok, 1 a reported problem (merge conflicts, a mismatch), 2 a usage
error or something not found. Add --json for one JSON object on stdout.
The databases are the ones the settings name:
  AGENTFOLD_MANAGE_DATABASE_URL   default sqlite+aiosqlite:///./.agentfold/manage.db
  AGENTFOLD_RUNTIME_DATABASE_URL  default sqlite+aiosqlite:///./.agentfold/runtime.db
                                  (branch delete also removes its runtime rows)"""

T = TypeVar("T")
Handler = Callable[[argparse.Namespace], int]
# A strategy for every conflict of a merge: the branch's side or the merged ref's.
STRATEGIES = ("ours", "theirs")
# Errors the operator fixes by asking differently: exit status 2, like argparse's.
USAGE_ERRORS = (NotFound, ValidationFailed)


def _missing(role: str) -> MigrationError:
    # Connecting would create an empty SQLite file: say so instead.
    return MigrationError(
        f"the {role} database does not exist yet; create it: agentfold db upgrade --db {role}"
    )


async def _with_manage(action: Callable[[Database], Awaitable[T]]) -> T:
    settings = DatabaseSettings()
    database = create_database(settings.migration_url("manage"), "manage", settings)
    try:
        if not database_exists(database):
            raise _missing("manage")
        with database_errors("manage"):
            return await action(database)
    finally:
        await database.dispose()


async def _with_both(action: Callable[[Database, Database], Awaitable[T]]) -> T:
    settings = DatabaseSettings()
    manage = create_database(settings.migration_url("manage"), "manage", settings)
    runtime = create_database(settings.migration_url("runtime"), "runtime", settings)
    try:
        for database in (manage, runtime):
            if not database_exists(database):
                raise _missing(database.role)
        with database_errors("manage or runtime"):
            return await action(manage, runtime)
    finally:
        await manage.dispose()
        await runtime.dispose()


def _error(message: object) -> None:
    print(f"agentfold: error: {message}", file=sys.stderr, flush=True)


def _guarded(handler: Handler) -> Handler:
    """``handler`` with the domain errors of version control reported in one line:
    exit 2 for something not found or malformed, 1 for the rest (merge conflicts are
    listed on stdout first)."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except MergeConflict as exc:
            _show_conflicts(args, exc.conflicts)
            _error(exc)
            return 1
        except USAGE_ERRORS as exc:
            _error(exc)
            return 2
        except AgentfoldError as exc:
            _error(exc)
            return 1

    return run


def _json(payload: Any) -> None:
    print(json.dumps(payload, indent=2, default=str), flush=True)


def _project(args: argparse.Namespace, ref: str = DEFAULT_BRANCH) -> ProjectScope:
    return ProjectScope(args.tenant, args.project, ref=ref)


def _key(row_key: str) -> str:
    """A row key for people: its columns joined by ``/``."""
    return row_key.replace(SEPARATOR, "/")


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


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
    report = aio.run(_with_manage(lambda db: verify_branch(db)(scopes=_scope(args))))
    if args.json:
        payload = report.model_dump(exclude={"mismatches"})
        payload["clean"] = report.clean
        payload["mismatches"] = [_mismatch_json(m) for m in report.mismatches]
        print(json.dumps(payload, indent=2), flush=True)
    else:
        _print(verify_lines(report))
    return 0 if report.clean else 1


def _repair(args: argparse.Namespace) -> int:
    report = aio.run(
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
    missing = aio.run(_with_manage(repair_capture_triggers))
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


# --------------------------------------------------------------------------- log, status


def commit_line(commit: CommitInfo) -> str:
    """One commit of the log, for people."""
    merged = f"  (merge of {commit.merge_parent_id[:12]})" if commit.merge_parent_id else ""
    return (
        f"{commit.id[:12]}  {_when(commit.created_at)}  {commit.author}  {commit.message}{merged}"
    )


async def _read_log(db: Database, scope: ProjectScope, limit: int) -> tuple[list[CommitInfo], int]:
    page = await log(db)(scopes=scope, limit=limit)
    return page.data, page.pagination.total


def _log(args: argparse.Namespace) -> int:
    shown, total = aio.run(
        _with_manage(lambda db: _read_log(db, _project(args, args.ref), args.limit))
    )
    if args.json:
        _json(
            {
                "ref": args.ref,
                "total": total,
                "commits": [c.model_dump(mode="json") for c in shown],
            }
        )
        return 0
    more = f" (showing {len(shown)}; --limit N for more)" if len(shown) < total else ""
    _print([f"{args.ref}: {_plural(total, 'commit')}, newest first{more}"])
    _print([commit_line(c) for c in shown])
    return 0


def _change_kind(change: Change) -> str:
    if change.before is None:
        return "added"
    return "removed" if change.after is None else "modified"


def status_lines(where: str, report: BranchStatus) -> list[str]:
    """A branch's head and its uncommitted rows, for people."""
    head = f"{where}@{report.branch}: at commit {report.head}"
    if report.clean:
        return [f"{head}; nothing uncommitted"]
    lines = [f"{head}; {_plural(len(report.changes), 'row')} not committed yet:"]
    lines += [f"  - {c.table} {_key(c.row_key)}: {_change_kind(c)}" for c in report.changes]
    return lines


def _status(args: argparse.Namespace) -> int:
    report = aio.run(_with_manage(lambda db: status(db)(scopes=_project(args, args.branch))))
    if args.json:
        _json(
            {
                "branch": report.branch,
                "head": report.head,
                "clean": report.clean,
                "changes": [
                    {
                        "table": c.table,
                        "row_key": c.row_key,
                        "key": c.row_key.split(SEPARATOR),
                        "kind": _change_kind(c),
                        "before_hash": c.before,
                        "after_hash": c.after,
                    }
                    for c in report.changes
                ],
            }
        )
    else:
        _print(status_lines(f"{args.tenant}/{args.project}", report))
    return 0


# --------------------------------------------------------------------------- diff


def _value(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)


_MARKS = {"added": "+", "modified": "~", "removed": "-"}


def _row_lines(row: RowDiff, values: bool) -> list[str]:
    columns = f": {', '.join(c.column for c in row.columns)}" if row.columns else ""
    lines = [f"  {_MARKS[row.kind]} {row.table} {_key(row.row_key)} ({row.kind}){columns}"]
    if not values:
        return lines
    if row.kind == "modified":
        lines += [f"      {c.column}: {_value(c.before)} -> {_value(c.after)}" for c in row.columns]
    else:
        shown = row.after if row.kind == "added" else row.before
        lines += [f"      {name}: {_value(v)}" for name, v in sorted((shown or {}).items())]
    return lines


def diff_lines(result: Diff, from_ref: str, to_ref: str, values: bool) -> list[str]:
    """A diff for people: counts per table, then each row with its changed columns
    (and with ``values`` the values: before -> after, or the whole added/removed row)."""
    span = f"{from_ref} ({result.from_commit[:12]}) -> {to_ref} ({result.to_commit[:12]})"
    if not result.rows:
        return [f"{span}: no differences"]
    lines = [
        f"{span}: {_plural(len(result.rows), 'row')} differ in "
        f"{_plural(len(result.counts), 'table')}"
    ]
    width = max(len(t) for t in result.counts)
    for table, count in sorted(result.counts.items()):
        lines.append(
            f"  {table:<{width}}  {count.added} added, {count.modified} modified, "
            f"{count.removed} removed"
        )
    lines.append("rows:")
    for row in result.rows:
        lines += _row_lines(row, values)
    return lines


def _diff(args: argparse.Namespace) -> int:
    to_ref = args.to_ref or DEFAULT_BRANCH
    result = aio.run(
        _with_manage(
            lambda db: diff_refs(db)(scopes=_project(args), from_ref=args.from_ref, to_ref=to_ref)
        )
    )
    if args.json:
        values = None if args.rows else {"before", "after"}
        payload = result.model_dump(mode="json", exclude={"rows"})
        payload |= {"from_ref": args.from_ref, "to_ref": to_ref}
        payload["rows"] = [
            {**r.model_dump(mode="json", exclude=values), "key": r.row_key.split(SEPARATOR)}
            for r in result.rows
        ]
        _json(payload)
    else:
        _print(diff_lines(result, args.from_ref, to_ref, args.rows))
    return 0


# --------------------------------------------------------------------------- branches, tags


def _branch_json(info: BranchInfo) -> dict[str, Any]:
    return info.model_dump(mode="json")


def _branch_list(args: argparse.Namespace) -> int:
    found = aio.run(_with_manage(lambda db: list_branches(db)(scopes=_project(args))))
    if args.json:
        _json({"branches": [_branch_json(b) for b in found]})
        return 0
    width = max((len(b.name) for b in found), default=0)
    _print([f"{b.name:<{width}}  {b.head}  created {_when(b.created_at)}" for b in found])
    return 0


def _branch_create(args: argparse.Namespace) -> int:
    info = aio.run(
        _with_manage(
            lambda db: create_branch(db)(scopes=_project(args, args.from_ref), name=args.name)
        )
    )
    if args.json:
        _json(_branch_json(info) | {"from": args.from_ref})
    else:
        print(f"created branch {info.name!r} at commit {info.head} (from {args.from_ref})")
    return 0


def _branch_delete(args: argparse.Namespace) -> int:
    async def run(manage: Database, runtime: Database) -> bool:
        return await delete_branch(manage, runtime)(scopes=_project(args, args.name))

    if not aio.run(_with_both(run)):
        raise NotFound(f"no branch {args.name!r} in project {args.project!r}")
    if args.json:
        _json({"deleted": args.name})
    else:
        print(f"deleted branch {args.name!r} and the runtime rows that ran against it")
    return 0


def _tag_json(info: TagInfo) -> dict[str, Any]:
    return info.model_dump(mode="json")


def _tag_list(args: argparse.Namespace) -> int:
    found = aio.run(_with_manage(lambda db: list_tags(db)(scopes=_project(args))))
    if args.json:
        _json({"tags": [_tag_json(t) for t in found]})
        return 0
    width = max((len(t.name) for t in found), default=0)
    _print(
        [
            f"{t.name:<{width}}  {t.commit_id}  {_when(t.created_at)}  {t.author}"
            + (f"  {t.message}" if t.message else "")
            for t in found
        ]
    )
    return 0


def _tag_create(args: argparse.Namespace) -> int:
    info = aio.run(
        _with_manage(
            lambda db: create_tag(db)(
                scopes=_project(args, args.ref),
                name=args.name,
                message=args.message,
                author=args.author or "agentfold",
            )
        )
    )
    if args.json:
        _json(_tag_json(info) | {"ref": args.ref})
    else:
        print(f"tagged commit {info.commit_id} as {info.name!r} (from {args.ref})")
    return 0


def _tag_delete(args: argparse.Namespace) -> int:
    deleted = aio.run(
        _with_manage(lambda db: delete_tag(db)(scopes=_project(args), name=args.name))
    )
    if not deleted:
        raise NotFound(f"no tag {args.name!r} in project {args.project!r}")
    if args.json:
        _json({"deleted": args.name})
    else:
        print(f"deleted tag {args.name!r}")
    return 0


# --------------------------------------------------------------------------- merge, revert, reset


def _conflict_json(conflict: RowConflict) -> dict[str, Any]:
    return conflict.model_dump(mode="json") | {"key": conflict.row_key.split(SEPARATOR)}


def conflict_line(conflict: RowConflict, prefix: str = "CONFLICT") -> str:
    """One conflict for people: table, row key, kind and the columns in conflict."""
    columns = f": {', '.join(conflict.paths or conflict.columns)}" if conflict.columns else ""
    return f"  {prefix} {conflict.table} {_key(conflict.row_key)} ({conflict.kind}){columns}"


def _show_conflicts(args: argparse.Namespace, conflicts: list[RowConflict]) -> None:
    if getattr(args, "json", False):
        _json({"conflicts": [_conflict_json(c) for c in conflicts], "resolved": False})
        return
    lines = [f"{_plural(len(conflicts), 'unresolved conflict')}; nothing was changed:"]
    lines += [conflict_line(c) for c in conflicts]
    if getattr(args, "command", None) == "merge":
        lines.append("  resolve every one with --ours or --theirs (preview first: --preview)")
    _print(lines)


def _resolutions(strategy: str | None, conflicts: list[RowConflict]) -> dict[Any, Any]:
    if strategy is None:
        return {}
    return {(c.table, c.row_key): strategy for c in conflicts}


async def _preview(
    db: Database, scope: ProjectScope, from_ref: str, strategy: str | None
) -> tuple[MergePreview, list[RowConflict]]:
    """The preview with ``strategy`` applied, and the conflicts it resolves."""
    found = await merge_preview(db)(scopes=scope, from_ref=from_ref)
    resolutions = _resolutions(strategy, found.conflicts)
    if not resolutions:
        return found, []
    resolved = await merge_preview(db)(scopes=scope, from_ref=from_ref, resolutions=resolutions)
    return resolved, found.conflicts


def preview_lines(
    preview: MergePreview, from_ref: str, into: str, resolved: list[RowConflict], strategy: str
) -> list[str]:
    """What a merge would do, for people."""
    base = preview.base[:12] if preview.base else "none (unrelated histories)"
    lines = [
        f"merge {from_ref} ({preview.theirs[:12]}) into {into} ({preview.ours[:12]}), base {base}:"
    ]
    if preview.up_to_date:
        lines.append(f"  {into} is already up to date; nothing to do")
    elif preview.fast_forward:
        lines.append(
            f"  would fast-forward {into} to {preview.theirs} "
            f"({_plural(preview.rows, 'row')} to write)"
        )
    else:
        lines.append(
            f"  would make a merge commit ({_plural(preview.rows, 'row')} to write)"
            if not preview.conflicts
            else f"  would stop on {_plural(len(preview.conflicts), 'conflict')}:"
        )
    lines += [conflict_line(c) for c in preview.conflicts]
    lines += [conflict_line(c, f"resolved ({strategy})") for c in resolved]
    if preview.conflicts:
        lines.append("  resolve every one with --ours or --theirs")
    return lines


def merge_lines(
    result: MergeResult, from_ref: str, into: str, resolved: list[RowConflict], strategy: str
) -> list[str]:
    """What a merge did, for people."""
    written = _plural(result.rows, "row")
    if result.up_to_date:
        lines = [f"{into} is already up to date with {from_ref} (commit {result.commit_id})"]
    elif result.fast_forward:
        lines = [f"fast-forwarded {into} to {from_ref} (commit {result.commit_id}; {written})"]
    else:
        lines = [f"merged {from_ref} into {into}: commit {result.commit_id} ({written} written)"]
    lines += [conflict_line(c, f"resolved ({strategy})") for c in resolved]
    return lines


def _merge(args: argparse.Namespace) -> int:
    into = args.into
    strategy = args.strategy

    async def run(db: Database) -> tuple[MergePreview | MergeResult, list[RowConflict]]:
        scope = _project(args, into)
        if args.preview:
            return await _preview(db, scope, args.from_ref, strategy)
        if strategy is None:
            done = await merge(db)(
                scopes=scope, from_ref=args.from_ref, author=args.author, message=args.message
            )
            return done, []
        # The conflicts to resolve come from a preview; the merge refuses if a head
        # moved in between (a stale preview), so it resolves exactly those.
        found, resolved = await _preview(db, scope, args.from_ref, strategy)
        done = await merge(db)(
            scopes=scope,
            from_ref=args.from_ref,
            resolutions=_resolutions(strategy, resolved),
            author=args.author,
            message=args.message,
            expected_heads=(found.ours, found.theirs),
        )
        return done, resolved

    outcome, resolved = aio.run(_with_manage(run))
    if isinstance(outcome, MergePreview):
        if args.json:
            payload = outcome.model_dump(mode="json", exclude={"conflicts"})
            payload |= {
                "from_ref": args.from_ref,
                "into": into,
                "conflicts": [_conflict_json(c) for c in outcome.conflicts],
                "resolved": [_conflict_json(c) | {"resolution": strategy} for c in resolved],
            }
            _json(payload)
        else:
            _print(preview_lines(outcome, args.from_ref, into, resolved, strategy or ""))
        return 1 if outcome.conflicts else 0
    if args.json:
        _json(
            outcome.model_dump(mode="json")
            | {
                "from_ref": args.from_ref,
                "into": into,
                "resolved": [_conflict_json(c) | {"resolution": strategy} for c in resolved],
            }
        )
    else:
        _print(merge_lines(outcome, args.from_ref, into, resolved, strategy or ""))
    return 0


def _revert(args: argparse.Namespace) -> int:
    result = aio.run(
        _with_manage(
            lambda db: revert(db)(
                scopes=_project(args, args.branch),
                commit_ref=args.commit,
                author=args.author,
                message=args.message,
            )
        )
    )
    if args.json:
        _json(result.model_dump(mode="json") | {"reverted": args.commit, "branch": args.branch})
    elif result.committed:
        print(
            f"reverted {args.commit} on {args.branch}: commit {result.commit_id} "
            f"({_plural(result.rows, 'row')} written)"
        )
    else:
        print(f"nothing to revert: {args.branch} already undoes {args.commit}")
    return 0


def _reset(args: argparse.Namespace) -> int:
    async def run(db: Database) -> tuple[str, MergeResult]:
        scope = _project(args, args.branch)
        before = (await status(db)(scopes=scope)).head
        return before, await reset(db)(scopes=scope, to_ref=args.ref, author=args.author)

    before, result = aio.run(_with_manage(run))
    if args.json:
        _json(result.model_dump(mode="json") | {"branch": args.branch, "previous": before})
    else:
        _print(
            [
                f"reset {args.branch} from {before} to {result.commit_id} ({args.ref}; "
                f"{_plural(result.rows, 'row')} written)",
                f"  undo: agentfold vc reset {before} --branch {args.branch} "
                f"--tenant {args.tenant} --project {args.project}",
            ]
        )
    return 0


# --------------------------------------------------------------------------- parser


def _project_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant", required=True, help="the tenant id")
    parser.add_argument("--project", required=True, help="the project id")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")


def _author_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--author", help="commit author (default: agentfold)")


def _subcommand(
    commands: Any, name: str, handler: Handler, summary: str, description: str, epilog: str = ""
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        description=f"{summary}.\n\n{description}" if description else f"{summary}.",
        epilog=epilog or None,
        formatter_class=_formatter,
    )
    _project_options(parser)
    parser.set_defaults(handler=_guarded(handler))
    return parser


def _add_history_commands(commands: Any) -> None:
    example = "--tenant acme --project support"
    parser = _subcommand(
        commands,
        "log",
        _log,
        "Show the commits of a ref, newest first",
        "Follows first parents from the ref (a merge shows the commit it merged).\n"
        "Each line: commit id (12 digits), time (UTC), author, message.",
        f"examples:\n  agentfold vc log {example}\n"
        f"  agentfold vc log {example} --ref v1.0 --limit 50 --json",
    )
    parser.add_argument(
        "--ref",
        metavar="REF",
        default=DEFAULT_BRANCH,
        help=f"branch, tag or commit (default: {DEFAULT_BRANCH})",
    )
    parser.add_argument(
        "--limit",
        metavar="N",
        type=_positive,
        default=20,
        help="how many commits to show (default: 20)",
    )

    parser = _subcommand(
        commands,
        "status",
        _status,
        "Show a branch's head commit and any uncommitted rows",
        "Every write through agentfold commits, so a branch normally has nothing\n"
        "uncommitted; rows written behind the capture triggers show in `verify`.",
        f"example:\n  agentfold vc status {example} --branch draft",
    )
    _branch_option(parser)

    parser = _subcommand(
        commands,
        "diff",
        _diff,
        "Show what changes from one ref to another",
        "Prints the rows added, modified and removed per table, then each row with\n"
        "the columns that differ; --rows adds the values (before -> after, or the\n"
        "whole row added or removed). Reads the commits' manifests, not the rows.",
        f"examples:\n  agentfold vc diff main draft {example}\n"
        f"  agentfold vc diff v1.0 {example} --rows\n"
        f"  agentfold vc diff main~3 main {example} --json",
    )
    parser.add_argument("from_ref", metavar="FROM", help="the ref to compare from")
    parser.add_argument(
        "to_ref",
        metavar="TO",
        nargs="?",
        help=f"the ref to compare to (default: {DEFAULT_BRANCH})",
    )
    parser.add_argument(
        "--rows", action="store_true", help="show the values of the rows that differ"
    )


def _add_ref_commands(commands: Any) -> None:
    example = "--tenant acme --project support"
    summary = "List, create and delete branches"
    group = commands.add_parser(
        "branch",
        help=summary,
        description=f"{summary}.\n\nBranch and tag names share one namespace per project.",
        formatter_class=_group_formatter,
    )
    actions = group.add_subparsers(dest="action", required=True, help="what to do")
    _subcommand(actions, "list", _branch_list, "List the project's branches", "")
    create = _subcommand(
        actions,
        "create",
        _branch_create,
        "Create a branch at a ref",
        "The branch starts with the rows of the ref's commit.",
        f"example:\n  agentfold vc branch create draft --from v1.0 {example}",
    )
    create.add_argument("name", metavar="NAME", help="the new branch's name")
    create.add_argument(
        "--from",
        dest="from_ref",
        metavar="REF",
        default=DEFAULT_BRANCH,
        help=f"branch, tag or commit to start from (default: {DEFAULT_BRANCH})",
    )
    delete = _subcommand(
        actions,
        "delete",
        _branch_delete,
        "Delete a branch with its rows",
        "Also deletes the runtime rows (conversations, tasks...) that ran against it,\n"
        "so it needs the runtime database too. Its commits stay reachable from other\n"
        f"refs. The default branch {DEFAULT_BRANCH!r} cannot be deleted.",
    )
    delete.add_argument("name", metavar="NAME", help="the branch to delete")

    summary = "List, create and delete tags"
    group = commands.add_parser(
        "tag",
        help=summary,
        description=f"{summary}.\n\nA tag names one commit; it is read-only.",
        formatter_class=_group_formatter,
    )
    actions = group.add_subparsers(dest="action", required=True, help="what to do")
    _subcommand(actions, "list", _tag_list, "List the project's tags", "")
    create = _subcommand(
        actions,
        "create",
        _tag_create,
        "Tag the commit a ref names",
        "",
        f'example:\n  agentfold vc tag create v1.0 -m "First release" {example}',
    )
    create.add_argument("name", metavar="NAME", help="the new tag's name")
    create.add_argument(
        "--ref",
        metavar="REF",
        default=DEFAULT_BRANCH,
        help=f"branch, tag or commit to tag (default: {DEFAULT_BRANCH})",
    )
    create.add_argument("-m", "--message", help="the tag's message")
    _author_option(create)
    delete = _subcommand(actions, "delete", _tag_delete, "Delete a tag", "")
    delete.add_argument("name", metavar="NAME", help="the tag to delete")


def _add_merge_commands(commands: Any) -> None:
    example = "--tenant acme --project support"
    parser = _subcommand(
        commands,
        "merge",
        _merge,
        "Merge a ref into a branch",
        "Fast-forwards when the branch is behind, else merges three-way, row by row\n"
        "and column by column, and commits with two parents. Conflicts (modify/modify\n"
        "with the columns, modify/delete, delete/modify, add/add) are listed and the\n"
        "command exits 1 having changed nothing, unless --ours or --theirs resolves\n"
        "every one. --preview shows what would happen without writing (exits 1 when\n"
        "conflicts would remain).",
        f"examples:\n  agentfold vc merge draft {example} --preview\n"
        f'  agentfold vc merge draft --into main {example} --theirs -m "Ship draft"',
    )
    parser.add_argument("from_ref", metavar="FROM", help="the branch, tag or commit to merge")
    parser.add_argument(
        "--into",
        metavar="BRANCH",
        default=DEFAULT_BRANCH,
        help=f"the branch to merge into (default: {DEFAULT_BRANCH})",
    )
    parser.add_argument(
        "--preview", action="store_true", help="show what the merge would do; write nothing"
    )
    sides = parser.add_mutually_exclusive_group()
    sides.add_argument(
        "--ours",
        dest="strategy",
        action="store_const",
        const="ours",
        help="resolve every conflict with the branch's version of the row",
    )
    sides.add_argument(
        "--theirs",
        dest="strategy",
        action="store_const",
        const="theirs",
        help="resolve every conflict with the merged ref's version of the row",
    )
    parser.add_argument(
        "-m", "--message", help="message of the merge commit (default: Merge FROM into BRANCH)"
    )
    _author_option(parser)

    parser = _subcommand(
        commands,
        "revert",
        _revert,
        "Undo one commit's changes with a new commit",
        "Keeps the changes made after it; conflicts with them are listed as for a\n"
        "merge, and the command exits 1 having changed nothing.",
        f"example:\n  agentfold vc revert 3f2a9c1 {example} --branch main",
    )
    parser.add_argument("commit", metavar="COMMIT", help="the commit to undo (any ref)")
    _branch_option(parser)
    parser.add_argument(
        "-m", "--message", help='message of the new commit (default: Revert "MESSAGE")'
    )
    _author_option(parser)

    parser = _subcommand(
        commands,
        "reset",
        _reset,
        "Move a branch to a ref, rows and head (git reset --hard)",
        "No commit is made; the commits after the ref stay reachable by id (the\n"
        "command prints how to undo it).",
        f"example:\n  agentfold vc reset main~2 {example} --branch draft",
    )
    parser.add_argument("ref", metavar="REF", help="the branch, tag or commit to reset to")
    _branch_option(parser)
    _author_option(parser)


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def _branch_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--branch", default=DEFAULT_BRANCH, help=f"the branch (default: {DEFAULT_BRANCH})"
    )


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
        help="version control of the manage database: log, diff, branches, merge...",
        description=DESCRIPTION,
        formatter_class=_group_formatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    _add_history_commands(commands)
    _add_ref_commands(commands)
    _add_merge_commands(commands)

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
    verify.set_defaults(handler=_guarded(_verify))

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
    repair.set_defaults(handler=_guarded(_repair))

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
    triggers.set_defaults(handler=_guarded(_repair_triggers))
