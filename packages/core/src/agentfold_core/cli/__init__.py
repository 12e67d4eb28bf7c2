"""The ``agentfold`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

from agentfold_core import __version__
from agentfold_core.cli import db, keys, maintenance, runs, vc
from agentfold_core.errors import AgentfoldError

PLUGIN_GROUP = "agentfold.commands"


def versions() -> str:
    """The version of agentfold-core and of each installed package adding commands."""
    lines = [f"agentfold-core {__version__}"]
    for plugin in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
        if plugin.dist is not None:
            lines.append(f"{plugin.dist.name} {plugin.dist.version}")
    return "\n".join(dict.fromkeys(lines))  # one line per package, in a stable order


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``agentfold`` and its command groups."""
    parser = argparse.ArgumentParser(
        prog="agentfold",
        description="Administer an agentfold installation.",
        # Raw text keeps --version's one line per package.
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=versions(), help="show the versions and exit"
    )
    groups = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)
    db.add_parser(groups)
    vc.add_parser(groups)
    runs.add_parser(groups)
    maintenance.add_parser(groups)
    keys.add_parser(groups)
    # Installed packages add their own commands (agentfold-api adds ``serve``), so core
    # never imports them.
    for plugin in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
        plugin.load()(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``agentfold`` with ``argv`` (the process arguments by default); the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.handler(args)
    except AgentfoldError as exc:
        print(f"agentfold: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("agentfold: interrupted", file=sys.stderr)
        return 130
    return status
