"""``agentfold runs``: find and fail stuck agent runs."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from agentfold_core.data_access.runtime.sweep import (
    DEFAULT_BATCH,
    DEFAULT_STALE_AFTER,
    StuckRun,
    stuck_runs,
    sweep_stuck_runs,
)
from agentfold_core.db.engine import Database, create_database
from agentfold_core.migrations import verify_schema
from agentfold_core.settings import DatabaseSettings

T = TypeVar("T")

RUNTIME_HELP = """\
Works on the runtime database the settings name:
  AGENTFOLD_RUNTIME_DATABASE_URL  default sqlite+aiosqlite:///./.agentfold/runtime.db"""


def formatter(prog: str) -> argparse.HelpFormatter:
    """Help kept as written, options in a wide column."""
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=30)


async def with_runtime(action: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``action`` on the configured runtime database, once its schema is current."""
    settings = DatabaseSettings()
    runtime = create_database(settings.migration_url("runtime"), "runtime", settings)
    try:
        # A database behind its migrations is a one-line error, not a traceback.
        await verify_schema(runtime, mode="strict")
        return await action(runtime)
    finally:
        await runtime.dispose()


def _describe(run: StuckRun) -> str:
    return (
        f"{run.tenant_id}/{run.project_id}/{run.run_id} agent {run.agent_id}, "
        f"last seen {run.last_seen.isoformat()}"
    )


def _stuck(args: argparse.Namespace) -> int:
    older = timedelta(seconds=args.older_than)
    found = asyncio.run(with_runtime(lambda db: stuck_runs(db, older_than=older, limit=args.limit)))
    for run in found:
        print(_describe(run), flush=True)
    print(f"{len(found)} stuck run(s) without a heartbeat for {args.older_than} s", flush=True)
    return 0


def _sweep(args: argparse.Namespace) -> int:
    older = timedelta(seconds=args.older_than)
    report = asyncio.run(with_runtime(lambda db: sweep_stuck_runs(db, older_than=older)))
    for run in report.failed:
        print(f"failed {_describe(run)}", flush=True)
    print(f"{len(report.failed)} stuck run(s) failed", flush=True)
    return 0


def _older_than(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--older-than",
        type=int,
        default=int(DEFAULT_STALE_AFTER.total_seconds()),
        metavar="SECONDS",
        help="a running run without a heartbeat for this long is stuck (default: "
        f"{int(DEFAULT_STALE_AFTER.total_seconds())})",
    )


def add_parser(groups: Any) -> None:
    """Add ``runs`` (``stuck``, ``sweep``) to the ``agentfold`` parser."""
    parser = groups.add_parser(
        "runs",
        help="find and fail stuck agent runs",
        description=f"Find and fail agent runs that stopped sending heartbeats.\n\n{RUNTIME_HELP}",
        formatter_class=formatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    stuck = commands.add_parser(
        "stuck",
        help="list running runs without a recent heartbeat (changes nothing)",
        description="List running runs of every tenant without a recent heartbeat, "
        "stalest first. Nothing is changed.",
        formatter_class=formatter,
    )
    _older_than(stuck)
    stuck.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_BATCH,
        help=f"at most this many (default: {DEFAULT_BATCH})",
    )
    stuck.set_defaults(handler=_stuck)
    sweep = commands.add_parser(
        "sweep",
        help="fail running runs without a recent heartbeat",
        description="Fail every running run without a recent heartbeat: its error says\n"
        "heartbeat_timeout, its open steps are failed and its cost rolls up to\n"
        "its ancestors. Safe to run while other workers sweep.",
        formatter_class=formatter,
    )
    _older_than(sweep)
    sweep.set_defaults(handler=_sweep)
