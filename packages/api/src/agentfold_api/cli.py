"""``agentfold serve``: run the service (added to the core ``agentfold`` command)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import agentfold_api
import agentfold_core
from agentfold_core.cli import aio
from agentfold_core.db.engine import databases_from_settings
from agentfold_core.settings import DatabaseSettings

DESCRIPTION = """\
Serve the API on the databases named by AGENTFOLD_MANAGE_DATABASE_URL and
AGENTFOLD_RUNTIME_DATABASE_URL (default: SQLite files under ./.agentfold).
SQLite databases are upgraded to the latest schema on start; PostgreSQL
databases are only verified, and the server refuses to start on one that is
behind its migrations (run `agentfold db upgrade` first)."""


def add_parser(groups: Any) -> None:
    """Add ``serve`` to the ``agentfold`` parser."""
    serve = groups.add_parser(
        "serve",
        help="serve the REST API",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument(
        "--reload",
        action="store_true",
        help="restart when agentfold's own source changes (development)",
    )
    serve.set_defaults(handler=_serve)


async def preflight(settings: DatabaseSettings) -> None:
    """Open both databases and prepare their schemas as the app's start-up does.

    Run before the server starts, so a database that is unreachable or behind its
    migrations fails here as an ``AgentfoldError`` (one line with its fix, printed by
    the ``agentfold`` command) rather than as a traceback from every worker's lifespan.
    """
    # Imported here: every ``agentfold`` command loads this module, and Litestar takes
    # seconds to import.
    from agentfold_api.app import prepare_schema

    manage, runtime = databases_from_settings(settings)
    try:
        await prepare_schema(manage)
        await prepare_schema(runtime)
    finally:
        await manage.dispose()
        await runtime.dispose()


def _source_dirs() -> list[str]:
    # The code served is agentfold's own, wherever it is installed, not the current
    # directory (which holds the SQLite files).
    return [str(Path(module.__file__ or "").parent) for module in (agentfold_api, agentfold_core)]


def _serve(args: argparse.Namespace) -> int:
    aio.run(preflight(DatabaseSettings()))
    run_server(host=args.host, port=args.port, workers=args.workers, reload=args.reload)
    return 0


def run_server(*, host: str, port: int, workers: int, reload: bool) -> None:
    """Serve the app with granian (ASGI interface, uvloop) until interrupted."""
    # Why granian on uvloop: of uvicorn (h11 / asyncio, httptools / uvloop) and granian
    # (asyncio, uvloop), it served the trivial handler and GET agent fastest, with the
    # least server CPU per request, in bench/api.py (figures in bench/README.md); its
    # HTTP parsing and socket I/O run in Rust off the Python thread, and it allows
    # --workers together with --reload. Imported here: every `agentfold` command
    # loads this module to build its parser.
    from granian import Granian
    from granian.constants import Interfaces, Loops
    from granian.log import LOGGING_CONFIG

    Granian(
        "agentfold_api.app:create_app",
        factory=True,
        interface=Interfaces.ASGI,
        loop=Loops.uvloop,
        address=host,
        port=port,
        workers=workers,
        reload=reload,
        reload_paths=[Path(d) for d in _source_dirs()] if reload else None,
        log_dictconfig=_logging(LOGGING_CONFIG),
    ).serve()


def _logging(server: dict[str, Any]) -> dict[str, Any]:
    """The server's logging plus agentfold's own loggers at INFO on its console (what
    the background maintenance did; the operator token's announcement)."""
    loggers = {
        **server["loggers"],
        "agentfold": {"handlers": ["console"], "level": "INFO", "propagate": False},
    }
    return {**server, "loggers": loggers}
