"""The service as ``bench/api.py`` serves it: the real app plus a trivial JSON handler."""

from __future__ import annotations

from litestar import Litestar, get

from agentfold_api.app import create_app

TRIVIAL_PATH = "/bench/trivial"


@get(TRIVIAL_PATH, sync_to_thread=False, opt={"exclude_from_auth": True}, include_in_schema=False)
def trivial() -> dict[str, bool]:
    """The baseline: no database, no credential, a constant JSON body."""
    return {"ok": True}


def create_bench_app() -> Litestar:
    """The app ``agentfold serve`` runs (settings from ``AGENTFOLD_*``), plus the
    baseline handler, so both go through the same server, middleware and process."""
    app = create_app()
    app.register(trivial)
    return app
