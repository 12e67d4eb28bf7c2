"""``agentfold-api serve``: run the service with uvicorn."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn

from agentfold_api.app import create_app


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run the chosen command."""
    parser = argparse.ArgumentParser(prog="agentfold-api", description="The agentfold service.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="serve the API",
        description="Serve the API on the databases named by AGENTFOLD_MANAGE_DATABASE_URL and "
        "AGENTFOLD_RUNTIME_DATABASE_URL (default: SQLite files under ./.agentfold).",
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    args = parser.parse_args(argv)
    if args.workers > 1:
        uvicorn.run(
            "agentfold_api.app:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
        )
    else:
        uvicorn.run(create_app(), host=args.host, port=args.port)
    return 0
