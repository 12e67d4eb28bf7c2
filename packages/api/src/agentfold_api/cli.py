"""``agentfold serve``: run the service (added to the core ``agentfold`` command)."""

from __future__ import annotations

import argparse
from typing import Any

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
        "--reload", action="store_true", help="restart on code changes (development)"
    )
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
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

    Granian(
        "agentfold_api.app:create_app",
        factory=True,
        interface=Interfaces.ASGI,
        loop=Loops.uvloop,
        address=host,
        port=port,
        workers=workers,
        reload=reload,
    ).serve()
