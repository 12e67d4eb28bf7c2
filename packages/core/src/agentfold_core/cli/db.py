"""``agentfold db``: drive the migrations of the manage and runtime databases."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from agentfold_core.cli import aio, output
from agentfold_core.data_access.orphans import find_orphans
from agentfold_core.db.engine import Database, create_database, operator_databases
from agentfold_core.migrations import (
    ROLES,
    Role,
    check,
    create_revision,
    current,
    downgrade,
    inspect_schema,
    offline_sql,
    revisions,
    upgrade,
    verify_schema,
)
from agentfold_core.migrations.session import database_errors
from agentfold_core.settings import DatabaseSettings

DESCRIPTION = """\
Each database has its own Alembic history (migrations/manage, migrations/runtime),
recorded in its own version table (alembic_version_manage, alembic_version_runtime).
The databases are the ones the settings name:
  AGENTFOLD_MANAGE_DATABASE_URL   default sqlite+aiosqlite:///./.agentfold/manage.db
  AGENTFOLD_RUNTIME_DATABASE_URL  default sqlite+aiosqlite:///./.agentfold/runtime.db
Upgrades and downgrades run in one transaction per database and take a lock
(a PostgreSQL advisory lock; a lock file beside a SQLite file): a second
process waits, says so, and then finds nothing left to do."""

DB_HELP = "which database: manage, runtime or all (default: all, manage first)"

Handler = Callable[[argparse.Namespace], int]


def _formatter(prog: str) -> argparse.HelpFormatter:
    # Raw text keeps the paragraphs and examples as written; a wide option column
    # keeps "--db {manage,runtime,all}" beside its help.
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=30)


def _group_formatter(prog: str) -> argparse.HelpFormatter:
    # A narrow column leaves the subcommand summaries room on one line each.
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=16)


def _roles(args: argparse.Namespace) -> tuple[Role, ...]:
    return ROLES if args.db == "all" else (args.db,)


def _url(role: Role, settings: DatabaseSettings) -> str:
    # The owner's: migrations and operator commands pass row-level security as the system.
    return settings.migration_url(role)


async def _each_database(
    args: argparse.Namespace, action: Callable[[Database], Awaitable[bool]]
) -> int:
    # True from ``action`` means the database is fine; any False makes the exit status 1.
    settings = DatabaseSettings()
    ok = True
    for role in _roles(args):
        database = create_database(_url(role, settings), role, settings)
        try:
            ok = await action(database) and ok
        finally:
            await database.dispose()
    return 0 if ok else 1


def _print(lines: list[str]) -> None:
    for line in lines:
        print(line, flush=True)


def _offline(args: argparse.Namespace, direction: Any, target: str) -> int:
    settings = DatabaseSettings()
    for role in _roles(args):
        print(f"-- agentfold {role} database: {direction} {target}")
        sys.stdout.write(offline_sql(role, _url(role, settings), direction, target))
    return 0


def _migrate(args: argparse.Namespace, direction: Any, target: str) -> int:
    if args.sql:
        return _offline(args, direction, target)
    run = upgrade if direction == "upgrade" else downgrade

    async def migrate(database: Database) -> bool:
        result = await run(database, target, observer=output.ProgressPrinter())
        print(output.migration_summary(result), flush=True)
        return True

    return aio.run(_each_database(args, migrate))


def _upgrade(args: argparse.Namespace) -> int:
    return _migrate(args, "upgrade", args.revision)


def _downgrade(args: argparse.Namespace) -> int:
    return _migrate(args, "downgrade", args.revision)


def _current(args: argparse.Namespace) -> int:
    async def show(database: Database) -> bool:
        state = await current(database)
        _print(output.current_lines(state))
        return True

    return aio.run(_each_database(args, show))


def _history(args: argparse.Namespace) -> int:
    applied: dict[str, tuple[str, ...]] = {}
    if args.indicate_current:

        async def read(database: Database) -> bool:
            applied[database.role] = (await current(database)).revisions
            return True

        aio.run(_each_database(args, read))
    for role in _roles(args):
        _print(output.history_lines(role, revisions(role), applied.get(role), args.verbose))
    return 0


def _revision(args: argparse.Namespace) -> int:
    async def write() -> int:
        for role in _roles(args):
            path = await create_revision(
                role,
                args.message,
                autogenerate=args.autogenerate,
                rev_id=args.rev_id,
                database_url=args.database_url,
            )
            if path is None:
                print(f"{role}: the models match the migration head; no revision written")
            else:
                print(f"{role}: wrote {path}; review it before committing")
        return 0

    return aio.run(write())


def _check(args: argparse.Namespace) -> int:
    async def compare(database: Database) -> bool:
        report = await check(database, observer=output.ProgressPrinter())
        _print(output.drift_lines(report))
        return report.ok

    return aio.run(_each_database(args, compare))


def _verify(args: argparse.Namespace) -> int:
    async def inspect(database: Database) -> bool:
        report = await inspect_schema(database)
        _print(output.schema_lines(report))
        return report.ok

    return aio.run(_each_database(args, inspect))


def _check_references(args: argparse.Namespace) -> int:
    async def run() -> int:
        manage, runtime = operator_databases()
        try:
            # Read-only: a database without the schema is named with its fix, and a
            # SQLite file that does not exist is not created by connecting.
            for database in (manage, runtime):
                await verify_schema(database, mode="strict")
            with database_errors("manage or runtime"):
                orphans = await find_orphans(manage, runtime, tenant_id=args.tenant)
        finally:
            await manage.dispose()
            await runtime.dispose()
        _print([orphan.describe() for orphan in orphans])
        where = f" of tenant {args.tenant!r}" if args.tenant else ""
        if orphans:
            print(f"{len(orphans)} dangling cross-database reference(s){where}", flush=True)
            return 1
        print(f"no dangling cross-database references{where}", flush=True)
        return 0

    return aio.run(run())


def _command(
    commands: Any, name: str, handler: Handler, summary: str, description: str, epilog: str = ""
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        description=f"{summary}.\n\n{description}" if description else f"{summary}.",
        epilog=epilog or None,
        formatter_class=_formatter,
    )
    parser.add_argument("--db", choices=("manage", "runtime", "all"), default="all", help=DB_HELP)
    parser.set_defaults(handler=handler)
    return parser


def _sql_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sql",
        action="store_true",
        help="offline mode: print the SQL instead of running it (no connection is made; "
        "the database URL only chooses the SQL dialect)",
    )


def add_parser(groups: Any) -> None:
    """Add ``db`` and its subcommands to the ``agentfold`` parser."""
    parser = groups.add_parser(
        "db",
        help="migrate, inspect and check the manage and runtime databases",
        description=DESCRIPTION,
        formatter_class=_group_formatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)

    up = _command(
        commands,
        "upgrade",
        _upgrade,
        "Apply revisions up to a target (default: head)",
        "Prints each revision as it is applied, with its duration, then where the\n"
        "database went from and to. PostgreSQL databases are only ever migrated by\n"
        "this command (or the library call), never implicitly.",
        "examples:\n  agentfold db upgrade\n  agentfold db upgrade --db runtime +1\n"
        "  agentfold db upgrade --db manage --sql > manage.sql",
    )
    up.add_argument(
        "revision",
        nargs="?",
        default="head",
        help="target: head (default), a revision id, or +N for N steps; with --sql "
        "also a from:to range",
    )
    _sql_option(up)

    down = _command(
        commands,
        "downgrade",
        _downgrade,
        "Revert revisions down to a target",
        "Reverting drops what the reverted revisions created, data included.",
        "examples:\n  agentfold db downgrade --db manage -1\n  agentfold db downgrade base\n"
        "  agentfold db downgrade --db runtime --sql 0002:0001",
    )
    down.add_argument(
        "revision",
        help="target: base (empty schema), a revision id, or -N for N steps; with --sql "
        "a from:to range is required",
    )
    _sql_option(down)

    _command(
        commands,
        "current",
        _current,
        "Show the revision each database is at",
        "Read-only: a SQLite file that does not exist is reported, not created.",
    )

    history = _command(
        commands,
        "history",
        _history,
        "List the revisions, newest first",
        "Reads the revision scripts; with --indicate-current also the databases.",
    )
    history.add_argument(
        "-v", "--verbose", action="store_true", help="also show creation dates and files"
    )
    history.add_argument(
        "-i",
        "--indicate-current",
        action="store_true",
        help="mark the revisions the databases are at (connects to them)",
    )

    revision = _command(
        commands,
        "revision",
        _revision,
        "Write a new revision into migrations/<db>/versions",
        "Works in a checkout of agentfold (it writes into the source tree). With\n"
        "--autogenerate the models are compared with a scratch SQLite database at the\n"
        "current head (or with --database-url) and the differences are written out; a\n"
        "database whose models did not change gets no revision. Review every\n"
        "generated revision; see migrations/README.md for the rules.",
        'examples:\n  agentfold db revision --db manage --autogenerate -m "add agent color"\n'
        '  agentfold db revision --db runtime -m "backfill task status"',
    )
    revision.add_argument("-m", "--message", required=True, help="what the revision does")
    revision.add_argument(
        "--autogenerate",
        action="store_true",
        help="fill the revision with the differences between the models and the head",
    )
    revision.add_argument(
        "--rev-id", help="revision id (default: the next four-digit number, e.g. 0002)"
    )
    revision.add_argument(
        "--database-url",
        help="with --autogenerate: compare with this database (already at head) "
        "instead of a scratch SQLite database",
    )

    _command(
        commands,
        "check",
        _check,
        "Fail when the models and the migration head disagree",
        "Applies any pending revisions inside a transaction that is rolled back, then\n"
        "compares the result with the models: tables, columns, types, nullability,\n"
        "indexes, unique and foreign key constraints (and, on SQLite, the triggers\n"
        "emulating ON DELETE SET NULL), and that every versioned table has its\n"
        "version-control capture triggers. Exits 1 and names each difference when they\n"
        "disagree; the database is left as it was.",
    )

    references = commands.add_parser(
        "check-references",
        help="Report runtime rows naming manage entities that do not exist",
        description="Report runtime rows naming manage entities that do not exist.\n\n"
        "Foreign keys never cross the two databases, so this read-only check looks for\n"
        "conversations, tasks, trigger invocations and API keys naming agents, sub-agents\n"
        "or triggers missing on the branch they ran against (else the main branch),\n"
        "projects without configuration and configuration without a project. Exits 1\n"
        "when it finds any. Needs both databases, so it takes no --db.",
        formatter_class=_formatter,
    )
    references.add_argument("--tenant", help="check only this tenant's rows")
    references.set_defaults(handler=_check_references)

    _command(
        commands,
        "verify",
        _verify,
        "Check read-only that each database is ready for this version",
        "Reports revisions not applied (or unknown to this version), missing tables,\n"
        "missing columns and missing capture triggers of version control, with the\n"
        "exact command that fixes them. Exits 1 when a database is not ready.\n"
        "The library call is\n"
        'agentfold_core.migrations.verify_schema(database, mode="warning"|"strict").',
    )
