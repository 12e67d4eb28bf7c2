"""The service as ``bench/api.py`` serves it: the real app, a trivial JSON handler, and
the floor of a ``GET`` agent (the two reads it must make, with nothing else)."""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any

import psycopg
from litestar import Litestar, Request, Response, get
from sqlalchemy.engine import make_url

from agentfold_api.app import create_app
from agentfold_core.secrets.api_keys import parse_key

TRIVIAL_PATH = "/bench/trivial"
FLOOR_PATH = "/bench/floor"

KEY_SQL = "SELECT * FROM api_keys WHERE public_id = ?"
AGENT_SQL = (
    "SELECT * FROM agents WHERE tenant_id = ? AND project_id = ? AND branch = 'main' AND id = ?"
)
_PSYCOPG_SQL = {sql: sql.replace("?", "%s") for sql in (KEY_SQL, AGENT_SQL)}


@get(TRIVIAL_PATH, sync_to_thread=False, opt={"exclude_from_auth": True}, include_in_schema=False)
def trivial() -> dict[str, bool]:
    """The baseline: no database, no credential, a constant JSON body."""
    return {"ok": True}


class FloorReads:
    """The two point reads of a ``GET`` agent on the bare driver (sqlite3 on the
    calling thread, or a held psycopg connection per concurrent request), opened on
    first use: the key row by its public id, the agent row by its key."""

    def __init__(self) -> None:
        self._idle: dict[str, list[Any]] = {"runtime": [], "manage": []}

    @staticmethod
    async def _connect(role: str) -> Any:
        url = make_url(os.environ[f"AGENTFOLD_{role.upper()}_DATABASE_URL"])
        if url.drivername.startswith("sqlite"):
            conn = sqlite3.connect(str(url.database), check_same_thread=False)
            conn.row_factory = sqlite3.Row
            return conn
        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        return await psycopg.AsyncConnection.connect(conninfo, autocommit=True)

    async def read(self, role: str, sql: str, params: tuple[str, ...]) -> dict[str, Any] | None:
        """One row as a mapping (``None``: no row)."""
        idle = self._idle[role]
        conn = idle.pop() if idle else await self._connect(role)
        try:
            if isinstance(conn, sqlite3.Connection):
                row = conn.execute(sql, params).fetchone()
                return None if row is None else dict(row)
            cursor = conn.cursor(row_factory=psycopg.rows.dict_row)
            await cursor.execute(_PSYCOPG_SQL[sql], params)
            found: dict[str, Any] | None = await cursor.fetchone()
            return found
        finally:
            idle.append(conn)


_FLOOR = FloorReads()


@get(
    f"{FLOOR_PATH}/{{tenant_id:str}}/{{project_id:str}}/{{agent_id:str}}",
    sync_to_thread=False,
    opt={"exclude_from_auth": True},
    include_in_schema=False,
)
async def floor(
    request: Request[Any, Any, Any], tenant_id: str, project_id: str, agent_id: str
) -> Response[bytes]:
    """What no ``GET`` agent can do without: read the bearer key's row (revocation and
    expiry hold from the next request) and the agent's row, then answer it as JSON. No
    validation, no versioning, no scope checks: a floor, not a handler."""
    parsed = parse_key(request.headers.get("authorization", "").partition(" ")[2])
    key = None if parsed is None else await _FLOOR.read("runtime", KEY_SQL, (parsed[0],))
    if key is None:
        return Response(b'{"status": 401}', status_code=401, media_type="application/json")
    agent = await _FLOOR.read("manage", AGENT_SQL, (tenant_id, project_id, agent_id))
    if agent is None:
        return Response(b'{"status": 404}', status_code=404, media_type="application/json")
    return Response(json.dumps(agent, default=str).encode(), media_type="application/json")


def create_bench_app() -> Litestar:
    """The app ``agentfold serve`` runs (settings from ``AGENTFOLD_*``), plus the
    baseline and floor handlers, so all go through the same server, middleware and
    process."""
    app = create_app()
    app.register(trivial)
    app.register(floor)
    return app
