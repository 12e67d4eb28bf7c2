"""``agentfold serve``: run the service (added to the core ``agentfold`` command)."""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn

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
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    uvicorn.run(
        "agentfold_api.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
    )
    return 0
