"""``agentfold maintenance``: housekeeping of the runtime database (retention)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from agentfold_core.cli.runs import RUNTIME_HELP, formatter, with_runtime
from agentfold_core.data_access.runtime.retention import DEFAULT_BATCH as RETENTION_BATCH
from agentfold_core.data_access.runtime.retention import RetentionReport, enforce_retention


def retention_lines(report: RetentionReport) -> list[str]:
    """What ``agentfold maintenance retention`` prints for ``report``."""
    lines = []
    for project in report.projects:
        counts = ", ".join(f"{n} {table}" for table, n in sorted(project.removed.items()))
        lines.append(f"{project.tenant_id}/{project.project_id}: removed {counts}")
    totals = report.totals()
    if totals:
        lines.append("removed " + ", ".join(f"{n} {table}" for table, n in sorted(totals.items())))
    else:
        lines.append("nothing to remove")
    return lines


def _retention(args: argparse.Namespace) -> int:
    report = asyncio.run(
        with_runtime(
            lambda db: enforce_retention(db, batch_size=args.batch_size, tenant_id=args.tenant)
        )
    )
    for line in retention_lines(report):
        print(line, flush=True)
    return 0


def add_parser(groups: Any) -> None:
    """Add ``maintenance`` (``retention``) to the ``agentfold`` parser."""
    parser = groups.add_parser(
        "maintenance",
        help="enforce retention of run records, messages and events",
        description=f"Housekeeping of the runtime database.\n\n{RUNTIME_HELP}",
        formatter_class=formatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    retention = commands.add_parser(
        "retention",
        help="delete what each project's retention settings no longer keep",
        description="Delete the run records (whole run trees with their steps and calls),\n"
        "messages and events each project's retention settings no longer keep, in\n"
        "batches of short transactions, and print what was removed per project.",
        formatter_class=formatter,
    )
    retention.add_argument(
        "--batch-size",
        type=int,
        default=RETENTION_BATCH,
        help=f"rows (run trees) per transaction (default: {RETENTION_BATCH})",
    )
    retention.add_argument("--tenant", default=None, help="only this tenant's projects")
    retention.set_defaults(handler=_retention)
