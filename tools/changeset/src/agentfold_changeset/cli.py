"""Command line interface: ``agentfold-changeset add|status|version|check``."""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import git
from .changeset_file import (
    Changeset,
    ChangesetError,
    load_changesets,
    parse_release_argument,
    read_changesets,
    write_changeset,
)
from .plan import PackageRelease, PlanError, ReleasePlan, build_plan
from .problems import Problem
from .release import LockError, LockRunner, ReleaseError, apply_plan, run_uv_lock
from .schema_rule import SchemaCheck, check_schema_rule
from .versioning import BUMP_LABELS, Bump
from .workspace import Package, Workspace, WorkspaceError, find_root, load_workspace

PROG = "agentfold-changeset"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for all subcommands."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Changeset-driven versioning of the workspace packages."
    )
    parser.add_argument(
        "--root",
        type=Path,
        help="workspace root (default: nearest parent with [tool.uv.workspace])",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    add = commands.add_parser("add", help="write a new changeset file")
    add.add_argument(
        "releases", nargs="*", metavar="PACKAGE:BUMP", help=f"bump: {'|'.join(BUMP_LABELS)}"
    )
    add.add_argument(
        "-m",
        "--message",
        action="append",
        required=True,
        metavar="SUMMARY",
        help="changelog summary; repeat for more paragraphs",
    )

    status = commands.add_parser("status", help="show the release plan")
    status.add_argument(
        "--since",
        metavar="REV",
        help="fail if packages changed since REV have no changeset",
    )
    status.add_argument("--json", action="store_true", help="print the plan as JSON")

    version = commands.add_parser("version", help="consume changesets and bump versions")
    version.add_argument(
        "--no-lock", action="store_true", help="do not run `uv lock --offline` afterwards"
    )

    check = commands.add_parser("check", help="validate changesets and the schema rule")
    check.add_argument("--no-schema", action="store_true", help="skip the schema rule")
    return parser


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def _report(problems: Sequence[Problem]) -> None:
    for problem in problems:
        print(problem, file=sys.stderr)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _command_add(workspace: Workspace, args: argparse.Namespace, rng: random.Random | None) -> int:
    releases: list[tuple[str, Bump]] = []
    errors: list[Problem | str] = []
    for argument in args.releases:
        try:
            releases.append(parse_release_argument(argument, workspace))
        except ChangesetError as error:
            errors.extend(error.problems)
    if errors:
        raise ChangesetError(errors)
    summary = "\n\n".join(part.strip() for part in args.message if part.strip())
    path = write_changeset(workspace, releases, summary, rng)
    print(f"Created {workspace.relative(path)}")
    for name, bump in releases:
        print(f"  {name}: {bump.label}")
    return 0


def _reasons(release: PackageRelease) -> str:
    reasons = [changeset.display_path for changeset, _ in release.entries]
    if release.dependency_updates:
        updated = ", ".join(f"{name}@{version}" for name, version in release.dependency_updates)
        reasons.append(f"dependency bump ({updated})")
    return "; ".join(reasons)


def _print_plan(workspace: Workspace, plan: ReleasePlan) -> None:
    if plan.changesets:
        print(f"Changesets ({len(plan.changesets)}):")
        for changeset in plan.changesets:
            print(f"  {changeset.display_path}")
    else:
        print("No changesets found.")
    print("Release plan:")
    for package in workspace.packages:
        release = plan.release_for(package.name)
        if release is None:
            print(f"  {package.name} {package.version}: no release")
            continue
        print(
            f"  {package.name} {package.version} -> {release.next_version} "
            f"({release.bump.label}): {_reasons(release)}"
        )
        for change in release.requirement_changes:
            print(f"    requirement {change.old.text!r} -> {change.new.text!r}")


def _missing_changesets(
    workspace: Workspace, changesets: Sequence[Changeset], revision: str
) -> dict[Package, list[str]]:
    changed: dict[Package, list[str]] = {}
    for path in sorted(git.changed_files_since(workspace.root, revision)):
        package = workspace.package_for_path(path)
        if package is not None:
            changed.setdefault(package, []).append(path)
    named = {release.package for changeset in changesets for release in changeset.releases}
    return {package: files for package, files in changed.items() if package.name not in named}


def _command_status(workspace: Workspace, args: argparse.Namespace) -> int:
    changesets, problems = read_changesets(workspace)
    if problems:
        _report(problems)
        _error(f"{_plural(len(problems), 'problem')} in changesets; run `{PROG} check`")
        return 1
    plan = build_plan(workspace, changesets)
    missing: dict[Package, list[str]] = {}
    if args.since is not None:
        missing = _missing_changesets(workspace, changesets, args.since)

    if args.json:
        payload: dict[str, Any] = plan.to_json(workspace)
        if args.since is not None:
            payload["since"] = {
                "revision": args.since,
                "missing_changesets": [
                    {"name": package.name, "files": files} for package, files in missing.items()
                ],
            }
        print(json.dumps(payload, indent=2))
    else:
        _print_plan(workspace, plan)

    if missing:
        lines = [f"packages changed since {args.since} have no changeset:"]
        for package, files in missing.items():
            lines.append(f"  {package.name} ({workspace.relative(package.directory)}):")
            lines.extend(f"    {path}" for path in files)
        names = " ".join(f"{package.name}:<{'|'.join(BUMP_LABELS)}>" for package in missing)
        lines.append(f'add one with: {PROG} add {names} -m "<summary>"')
        _error("\n".join(lines))
        return 1
    return 0


def _command_version(
    workspace: Workspace, args: argparse.Namespace, lock_runner: LockRunner | None
) -> int:
    changesets = load_changesets(workspace)
    if not changesets:
        print("No changesets found; nothing to version.")
        return 0
    plan = build_plan(workspace, changesets)
    apply_plan(workspace, plan)
    for release in plan.releases:
        print(
            f"{release.package.name}: {release.package.version} -> {release.next_version} "
            f"({release.bump.label})"
        )
    print(f"Consumed {_plural(len(plan.changesets), 'changeset')}.")
    if not plan.releases:
        print("No package is released; the lock file is unchanged.")
        return 0
    if args.no_lock:
        print("Skipped refreshing uv.lock (--no-lock).")
        return 0
    try:
        (lock_runner or run_uv_lock)(workspace.root)
    except LockError as error:
        _error(
            f"versions and changelogs were updated, but refreshing uv.lock failed: {error}\n"
            f"run `uv lock` in {workspace.root} once the problem is fixed"
        )
        return 1
    print("Refreshed uv.lock.")
    return 0


def _schema_summary(result: SchemaCheck) -> str:
    since = f"since {result.base_tag}" if result.base_tag else "(no release tag yet)"
    if not result.findings:
        revisions = _plural(len(result.revisions), "new revision")
        return f"Schema rule: no schema additions in {revisions} {since}."
    required = result.required.label if result.required else "none"
    granted = result.granted.label if result.granted else "none"
    return (
        f"Schema rule: {_plural(len(result.findings), 'schema addition')} {since} need "
        f"{required}; {result.package} gets {granted}."
    )


def _command_check(workspace: Workspace, args: argparse.Namespace) -> int:
    changesets, problems = read_changesets(workspace)
    schema: SchemaCheck | None = None
    if not args.no_schema:
        schema = check_schema_rule(workspace, changesets)
        problems = [*problems, *schema.problems]
    if problems:
        _report(problems)
        _error(f"{_plural(len(problems), 'problem')} found")
        return 1
    print(f"{_plural(len(changesets), 'changeset')} valid.")
    if schema is not None:
        print(_schema_summary(schema))
    return 0


def main(
    argv: Sequence[str] | None = None,
    *,
    lock_runner: LockRunner | None = None,
    rng: random.Random | None = None,
) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        root = args.root if args.root is not None else find_root(Path.cwd())
        workspace = load_workspace(root)
        if args.command == "add":
            return _command_add(workspace, args, rng)
        if args.command == "status":
            return _command_status(workspace, args)
        if args.command == "version":
            return _command_version(workspace, args, lock_runner)
        return _command_check(workspace, args)
    except ChangesetError as error:
        _report([problem for problem in error.problems if isinstance(problem, Problem)])
        for problem in error.problems:
            if not isinstance(problem, Problem):
                _error(problem)
        return 1
    except (WorkspaceError, PlanError, ReleaseError, git.GitError) as error:
        _error(str(error))
        return 1


if __name__ == "__main__":
    sys.exit(main())
