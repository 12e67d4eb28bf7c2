"""The REST service under load: each route's throughput as a ratio to a trivial handler
served by the same server, in the same process, in the same run.

The real service (``agentfold_api.app.create_app`` plus ``GET /bench/trivial``, a
constant JSON body with no credential: ``bench/api_app.py``) runs as a separate server
process with one worker on loopback, on SQLite files in a temporary directory and on
scratch PostgreSQL databases (created, upgraded with ``agentfold db upgrade``, dropped
at exit). It is seeded through the API itself: a tenant and an admin key (with the
operator token), the realistic project document (``tests/support/project_document.py``)
by ``PUT project-full``, then 60 more agents by ``POST``: 63 agents in all.

Operations, each with 10 concurrent keep-alive connections for ``--seconds``:

- ``trivial``: ``GET /bench/trivial`` (the baseline);
- ``floor``: ``GET /bench/floor/...``, the least a ``GET`` agent can do: the bearer
  key's row and the agent's row read on the bare driver (sqlite3, or a held psycopg
  connection per concurrent request), the row answered as JSON; no validation, no
  versioning, no checks (``bench/api_app.py``). Its ratio is the ceiling of any
  ``GET`` agent that reads its key row per request on this machine and backend; not
  run with row-level security (it sends no tenant);
- ``get_agent``: ``GET`` one agent (rotating over the 60 added ones), admin key;
- ``project_full``: ``GET project-full`` of the whole project (63 agents);
- ``list_agents``: ``GET agents?limit=50``;
- ``patch_agent``: ``PATCH`` an agent's description to a value unique to the request,
  each connection its own agent, so every request is a real change and one commit;
- ``post_message``: ``POST /run/v1/conversations/{id}/messages`` with a runner key,
  each connection its own conversation, when the served OpenAPI document has the run
  routes (else ``"skipped"``).

The load comes from ``--processes`` client processes (``bench/http_load.py``: asyncio
over raw sockets, hand-built requests). It shows that it is not the bottleneck by
running the trivial handler from one client process as well: if the rate does not grow
with more processes, the server is saturated.

Backends (``--backends``): ``sqlite``; ``postgresql``, the server's own user (a
superuser: row-level security is bypassed, no setting is sent); and
``postgresql_row_security``, as production runs it: databases owned and migrated by
a scratch owner role and served by a scratch application role, which every policy
applies to (each statement carries its tenant).

Servers (``--servers``): uvicorn (asyncio loop, h11), uvicorn with uvloop and
httptools, granian (``--interface asgi``) with the asyncio loop and with uvloop; the
one ``agentfold serve`` uses runs every operation, the others ``trivial`` and
``get_agent``. Every server of a backend runs at once (idle unless measured) on the
same databases; all measurements of a backend are interleaved in rounds, the order
rotating each round.

Prints JSON: per backend and server, requests per second, p50 and p99 latency (ms),
server CPU per request (µs, from /proc: the whole server process tree) and the ratio of
each operation's rate to the trivial handler's in the same round (median over rounds),
with the targets (``get_agent`` ≥ 0.30, ``patch_agent`` ≥ 0.10) and pass flags.

    uv run python bench/api.py [--rounds 3] [--seconds 5] [--processes 2]
        [--servers uvicorn,uvicorn-uvloop,granian,granian-uvloop] [--logs DIR] [--postgres URL]
        [--backends sqlite,postgresql,postgresql_row_security]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psycopg
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.project_document import realistic_project
from tests.support.row_security import owned_databases

from api_app import FLOOR_PATH, TRIVIAL_PATH
from http_load import LoadGenerator, Operation, Outcome, percentile

BENCH = Path(__file__).resolve().parent
APP = "api_app:create_bench_app"
HOST = "127.0.0.1"
TENANT, PROJECT = "bench", "shop"
ADDED_AGENTS = 60
CONNECTIONS = 10
OPERATIONS = (
    "trivial",
    "floor",
    "get_agent",
    "project_full",
    "list_agents",
    "patch_agent",
    "post_message",
)
TARGETS = {"get_agent": 0.30, "patch_agent": 0.10}
# The message route as the run API spells it, whatever its parameter is named.
MESSAGES_ROUTE = re.compile(r"^/run/v1/conversations/\{[^}]+\}/messages$")
# What ``agentfold serve`` runs (``agentfold_api/cli.py``): measured on every operation.
SERVED = "granian-uvloop"
ROW_SECURITY = "postgresql_row_security"
BACKENDS = ("sqlite", "postgresql", ROW_SECURITY)
PROMPT = "You answer questions about orders, returns and invoices. Be brief. " * 3


def _uvicorn(loop: str, http: str) -> Callable[[int], list[str]]:
    def argv(port: int) -> list[str]:
        return [
            *(sys.executable, "-m", "uvicorn", "--factory", APP, "--host", HOST),
            *("--port", str(port), "--workers", "1", "--loop", loop, "--http", http),
            *("--no-access-log", "--log-level", "warning"),
        ]

    return argv


def _granian(loop: str) -> Callable[[int], list[str]]:
    def argv(port: int) -> list[str]:
        return [
            *(sys.executable, "-m", "granian", "--interface", "asgi", "--factory"),
            *("--host", HOST, "--port", str(port), "--workers", "1", "--loop", loop),
            *("--no-access-log", "--log-level", "warning", APP),
        ]

    return argv


SERVERS: dict[str, Callable[[int], list[str]]] = {
    "uvicorn": _uvicorn("asyncio", "h11"),
    "uvicorn-uvloop": _uvicorn("uvloop", "httptools"),
    "granian": _granian("asyncio"),
    "granian-uvloop": _granian("uvloop"),
}


def _step(what: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {what}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- databases


@contextmanager
def sqlite_databases() -> Iterator[dict[str, str]]:
    """Two SQLite files in a temporary directory, as ``AGENTFOLD_*`` variables."""
    with tempfile.TemporaryDirectory(prefix="agentfold-api-bench-") as tmp:
        yield {
            "AGENTFOLD_MANAGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/manage.db",
            "AGENTFOLD_RUNTIME_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/runtime.db",
        }


@contextmanager
def postgres_databases(server_url: str) -> Iterator[dict[str, str]]:
    """Two scratch databases on the server of ``server_url``, dropped (with their
    connections) on exit, as ``AGENTFOLD_*`` variables."""
    server = make_url(server_url)
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    token = secrets.token_hex(3)
    names = {role: f"agentfold_api_{token}_{role}" for role in ("manage", "runtime")}
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in names.values():
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {
            f"AGENTFOLD_{role.upper()}_DATABASE_URL": server.set(
                drivername="postgresql+psycopg", database=name
            ).render_as_string(hide_password=False)
            for role, name in names.items()
        }
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            for name in names.values():
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def postgres_app_role_databases(server_url: str) -> Iterator[dict[str, str]]:
    """Row-level security on, as production runs it: two scratch databases owned by a
    scratch owner role, which migrates them, and served by a scratch application role
    (neither owner nor superuser, so every policy applies); all dropped on exit."""
    with owned_databases(server_url, "api_rls") as owned:
        env = {}
        for role in owned.names:
            env[f"AGENTFOLD_{role.upper()}_DATABASE_URL"] = owned.url(owned.app, role)
            env[f"AGENTFOLD_{role.upper()}_MIGRATION_URL"] = owned.url(owned.owner, role)
        # Read by the migrations only (``upgrade``), which grant this role its rows.
        env[APP_ROLE_FOR_UPGRADE] = owned.app
        yield env


APP_ROLE_FOR_UPGRADE = "BENCH_APP_ROLE"


def upgrade(env: dict[str, str]) -> None:
    """``agentfold db upgrade --db all``, as an operator would (the service never
    migrates PostgreSQL; on SQLite this spares the servers racing to do it)."""
    if APP_ROLE_FOR_UPGRADE in env:
        # The migrations grant the application role its rows; the service itself is
        # already that role (its URL), so it is not told to switch to it.
        env = {**env, "AGENTFOLD_APP_ROLE": env[APP_ROLE_FOR_UPGRADE]}
    subprocess.run(
        [sys.executable, "-m", "agentfold_core.cli", "db", "upgrade", "--db", "all"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


# --------------------------------------------------------------------------- servers


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _cpu_seconds(session: int) -> float:
    """User + system CPU of every live process of a session (a server and its workers)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # Fields after the command name (which may hold spaces): state is field 3.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) == session:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    """One server process (its own session, so its workers can be found and stopped)."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    def cpu(self) -> float:
        """CPU seconds used so far by the server and its workers."""
        return _cpu_seconds(self.process.pid)

    def tail(self) -> str:
        """The end of its log."""
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        """SIGTERM to its session, SIGKILL if still running after 20 s."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def start_server(name: str, env: dict[str, str], workdir: Path, label: str) -> Server:
    """Start ``name`` and wait until it answers ``/health/ready``."""
    port = _free_port()
    log = (workdir / f"{label}-{name}.log").open("w+b")
    process = subprocess.Popen(  # noqa: S603 - argv built here from constants
        SERVERS[name](port),
        cwd=workdir,
        env={**env, "PYTHONPATH": os.pathsep.join([str(BENCH), env.get("PYTHONPATH", "")])},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(name, port, process, log)
    deadline = time.monotonic() + 180  # start-up on a loaded 2-core machine is slow
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{server.tail()}")
        try:
            if Client(port).call("GET", "/health/ready")[0] == 200:
                return server
        except OSError:
            pass
        time.sleep(0.25)
    server.stop()
    raise RuntimeError(f"{name} did not answer /health/ready in 180 s:\n{server.tail()}")


# --------------------------------------------------------------------------- seeding


@dataclass
class Client:
    """Plain blocking HTTP for the set-up (never timed)."""

    port: int
    token: str | None = None

    def call(
        self, method: str, path: str, body: Any = None
    ) -> tuple[int, Any, http.client.HTTPMessage]:
        """Status, decoded JSON body (or None) and headers."""
        conn = http.client.HTTPConnection(HOST, self.port, timeout=120)
        headers = {"accept": "application/json"}
        if self.token is not None:
            headers["authorization"] = f"Bearer {self.token}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        try:
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            return response.status, json.loads(raw) if raw else None, response.headers
        finally:
            conn.close()

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        """The decoded body of a 2xx answer; anything else stops the run."""
        status, answer, _ = self.call(method, path, body)
        if not 200 <= status < 300:
            raise RuntimeError(f"{method} {path}: {status} {answer}")
        return answer


@dataclass
class Seeded:
    """What the operations need: credentials, ids, and whether the run API is served."""

    admin: str
    agents: list[str]
    conversations: list[str] = field(default_factory=list)
    runner: str | None = None
    skipped: str | None = None
    project_full_bytes: int = 0


def seed(port: int, operator: str) -> Seeded:
    """Tenant, admin key, realistic project + 60 agents; the run API's pieces if served."""
    tenant = f"/manage/tenants/{TENANT}"
    project = f"{tenant}/projects/{PROJECT}"
    as_operator = Client(port, operator)
    as_operator.ok("POST", "/manage/tenants", {"id": TENANT, "name": "Bench"})
    admin_key = as_operator.ok("POST", f"{tenant}/api-keys", {"role": "admin", "name": "bench"})
    admin = Client(port, admin_key["key"])
    admin.ok("PUT", f"{tenant}/project-full/{PROJECT}", realistic_project(PROJECT))
    agents = [f"agent-{i:02d}" for i in range(ADDED_AGENTS)]
    for agent in agents:
        admin.ok(
            "POST",
            f"{project}/agents",
            {"id": agent, "name": agent.title(), "description": "bench", "prompt": PROMPT},
        )
    page = admin.ok("GET", f"{project}/agents?limit=50")
    if len(page["data"]) != 50:
        raise RuntimeError(f"a page of 50 agents held {len(page['data'])}")
    full = admin.call("GET", f"{tenant}/project-full/{PROJECT}")
    # Each PATCH is a commit of its own: two in a row must name two commits.
    commits = [
        admin.call("PATCH", f"{project}/agents/{agents[0]}", {"description": value})[2][
            "x-agentfold-commit"
        ]
        for value in ("check one", "check two")
    ]
    if None in commits or commits[0] == commits[1]:
        raise RuntimeError(f"PATCH did not commit each change: {commits}")
    seeded = Seeded(admin_key["key"], agents, project_full_bytes=len(json.dumps(full[1])))
    paths = admin.ok("GET", "/openapi.json")["paths"]
    if not any(MESSAGES_ROUTE.match(p) for p in paths):
        seeded.skipped = "no run routes"
        return seeded
    runner_key = as_operator.ok(
        "POST", f"{tenant}/api-keys", {"role": "runner", "name": "runner", "project_id": PROJECT}
    )
    runner = Client(port, runner_key["key"])
    seeded.runner = runner_key["key"]
    for i in range(CONNECTIONS):
        made = runner.call("POST", "/run/v1/conversations", {"agent_id": agents[i]})
        if made[0] != 201:
            seeded.skipped = f"could not create a conversation: {made[0]} {made[1]}"
            return seeded
        seeded.conversations.append(made[1]["id"])
    return seeded


def operations(seeded: Seeded) -> dict[str, Operation]:
    """Every measured request kind, checked by one call each before timing."""
    tenant = f"/manage/tenants/{TENANT}"
    project = f"{tenant}/projects/{PROJECT}"
    agents = tuple(f"{project}/agents/{a}" for a in seeded.agents)
    ops = [
        Operation("trivial", "GET", (TRIVIAL_PATH,)),
        Operation("get_agent", "GET", agents, seeded.admin),
        Operation(
            "floor",
            "GET",
            tuple(f"{FLOOR_PATH}/{TENANT}/{PROJECT}/{a}" for a in seeded.agents),
            seeded.admin,
        ),
        Operation("project_full", "GET", (f"{tenant}/project-full/{PROJECT}",), seeded.admin),
        Operation("list_agents", "GET", (f"{project}/agents?limit=50",), seeded.admin),
        Operation(
            "patch_agent",
            "PATCH",
            agents[:CONNECTIONS],
            seeded.admin,
            body='{"description": "edited by the bench {n}"}',
            path_per_connection=True,
        ),
    ]
    if seeded.skipped is None:
        ops.append(
            Operation(
                "post_message",
                "POST",
                tuple(f"/run/v1/conversations/{c}/messages" for c in seeded.conversations),
                seeded.runner,
                body='{"role": "user", "content": {"text": "Where is my order {n}?"}}',
                path_per_connection=True,
            )
        )
    return {op.name: op for op in ops}


# --------------------------------------------------------------------------- timing


@dataclass(frozen=True)
class Slot:
    """One measurement: an operation on a server from some client processes."""

    server: str
    operation: str
    processes: int

    @property
    def key(self) -> str:
        """Its name in the report."""
        return f"{self.server}/{self.operation}/{self.processes}p"


@dataclass(frozen=True)
class Sample:
    """One slot's figures in one round."""

    rps: float
    p50_ms: float
    p99_ms: float
    failed: int
    cpu_us: float  # server CPU per completed request
    client_cpu_us: float  # load generator CPU per completed request
    failures: tuple[str, ...]


def measure(
    load: LoadGenerator, server: Server, op: Operation, processes: int, seconds: float
) -> Sample:
    """One slot: ``CONNECTIONS`` connections for ``seconds``."""
    before = server.cpu()
    outcome: Outcome = load.run(
        HOST, server.port, op, connections=CONNECTIONS, seconds=seconds, processes=processes
    )
    used = server.cpu() - before
    return Sample(
        rps=outcome.ok / seconds,
        p50_ms=percentile(outcome.latencies_us, 0.50) / 1000,
        p99_ms=percentile(outcome.latencies_us, 0.99) / 1000,
        failed=outcome.failed,
        cpu_us=used * 1e6 / outcome.ok if outcome.ok else 0.0,
        client_cpu_us=outcome.cpu_seconds * 1e6 / outcome.ok if outcome.ok else 0.0,
        failures=tuple(outcome.samples),
    )


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _figures(samples: list[Sample], baseline: list[Sample] | None) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "rps": round(_median([s.rps for s in samples]), 1),
        "p50_ms": round(_median([s.p50_ms for s in samples]), 2),
        "p99_ms": round(_median([s.p99_ms for s in samples]), 2),
        "server_cpu_us_per_request": round(_median([s.cpu_us for s in samples])),
        "client_cpu_us_per_request": round(_median([s.client_cpu_us for s in samples])),
    }
    if baseline is not None:
        # Per round, against the trivial handler measured in that same round: drift in
        # the machine's load between rounds cancels out.
        ratios = [s.rps / b.rps for s, b in zip(samples, baseline, strict=True) if b.rps]
        figures["ratio_to_trivial"] = round(_median(ratios), 3)
    failed = sum(s.failed for s in samples)
    if failed:
        figures["failed_requests"] = failed
        figures["failures"] = sorted({f for s in samples for f in s.failures})[:3]
    return figures


@dataclass(frozen=True)
class Settings:
    """Command-line settings."""

    rounds: int
    seconds: float
    warmup: float
    processes: int
    servers: list[str]
    served: str
    operations: list[str]
    logs: str | None


def bench_backend(
    label: str, env: dict[str, str], settings: Settings, load: LoadGenerator
) -> dict[str, Any]:
    """Every slot of one backend, interleaved in rounds."""
    operator = secrets.token_urlsafe(24)
    env = {**env, "AGENTFOLD_ADMIN_TOKEN": operator}
    _step(f"{label}: upgrading the databases")
    upgrade(env)
    with tempfile.TemporaryDirectory(prefix="agentfold-api-bench-") as tmp, ExitStack() as stack:
        servers: dict[str, Server] = {}
        for name in settings.servers:
            _step(f"{label}: starting {name}")
            logs = Path(settings.logs or tmp)
            logs.mkdir(parents=True, exist_ok=True)
            servers[name] = server = start_server(name, env, logs, label)
            stack.callback(server.stop)
        served = servers[settings.served]
        _step(f"{label}: seeding through {settings.served}")
        seeded = seed(served.port, operator)
        ops = {
            name: op
            for name, op in operations(seeded).items()
            if name in settings.operations or name in ("trivial", "get_agent")
        }
        if label == ROW_SECURITY:
            # The floor reads as the bare application role, which no policy lets see a
            # row without the tenant setting the doors send.
            ops.pop("floor", None)
        for op in ops.values():
            for server in servers.values():
                # One request each before timing: every route answers on every server.
                request = Client(server.port, op.token)
                body = json.loads(op.body.replace("{n}", "check")) if op.body else None
                request.ok(op.method, op.paths[0], body)

        slots = [Slot(settings.served, name, settings.processes) for name in ops]
        slots.append(Slot(settings.served, "trivial", 1))
        slots += [
            Slot(name, op, settings.processes)
            for name in settings.servers
            if name != settings.served
            for op in ("trivial", "get_agent")
        ]
        samples: dict[Slot, list[Sample]] = {slot: [] for slot in slots}

        def run(slot: Slot, seconds: float) -> Sample:
            return measure(load, servers[slot.server], ops[slot.operation], slot.processes, seconds)

        if settings.warmup > 0:
            _step(f"{label}: warm-up, {len(slots)} slots of {settings.warmup:g} s")
            for slot in slots:
                run(slot, settings.warmup)
        for r in range(settings.rounds):
            _step(f"{label}: round {r + 1}/{settings.rounds}, {len(slots)} slots")
            turn = r % len(slots)
            for slot in slots[turn:] + slots[:turn]:
                samples[slot].append(run(slot, settings.seconds))

    def on(server: str, operation: str, processes: int = settings.processes) -> list[Sample]:
        return samples[Slot(server, operation, processes)]

    report_ops: dict[str, Any] = {}
    for name in ops:
        base = None if name == "trivial" else on(settings.served, "trivial")
        figures = _figures(on(settings.served, name), base)
        if name in TARGETS:
            figures["target"] = f">= {TARGETS[name]}"
            figures["pass"] = figures["ratio_to_trivial"] >= TARGETS[name]
        report_ops[name] = figures
    if seeded.skipped is not None and "post_message" in settings.operations:
        report_ops["post_message"] = {"skipped": seeded.skipped}
    if "floor" in settings.operations and "floor" not in ops:
        report_ops["floor"] = {"skipped": "row-level security: the floor sends no tenant"}
    one = _median([s.rps for s in on(settings.served, "trivial", 1)])
    many = _median([s.rps for s in on(settings.served, "trivial")])
    report_servers = {
        name: {
            "trivial": _figures(on(name, "trivial"), None),
            "get_agent": _figures(on(name, "get_agent"), on(name, "trivial")),
        }
        for name in settings.servers
    }
    return {
        "server": settings.served,
        "project_full_bytes": seeded.project_full_bytes,
        "operations": report_ops,
        "saturation": {
            "trivial_rps_1_client_process": round(one, 1),
            f"trivial_rps_{settings.processes}_client_processes": round(many, 1),
            "growth": round(many / one, 3) if one else None,
            "reading": "growth near 1: the server, not the load generator, is the bottleneck",
        },
        "servers": report_servers,
    }


def main() -> None:
    """Parse the arguments, run each backend, print the JSON report."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    parser.add_argument("--seconds", type=float, default=5.0, help="per slot and round (5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="per slot, untimed (1)")
    parser.add_argument("--processes", type=int, default=2, help="client processes (2)")
    parser.add_argument(
        "--servers",
        default=",".join(SERVERS),
        help=f"comma-separated, of {', '.join(SERVERS)} (all)",
    )
    parser.add_argument(
        "--serve-with",
        default=SERVED,
        choices=sorted(SERVERS),
        help=f"measured on every operation (default {SERVED}: what agentfold serve runs)",
    )
    parser.add_argument(
        "--operations",
        default=",".join(OPERATIONS),
        help="comma-separated, of the operations above (all; trivial and get_agent always run)",
    )
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help=f"comma-separated, of {', '.join(BACKENDS)} (all)",
    )
    parser.add_argument("--logs", help="keep the servers' logs in this directory")
    parser.add_argument("--postgres", default=os.environ.get("AGENTFOLD_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    if set(args.backends.split(",")) - set(BACKENDS):
        parser.error(f"unknown backends: {args.backends}")
    servers = [s for s in args.servers.split(",") if s]
    unknown = sorted(set(servers) - set(SERVERS))
    if unknown:
        parser.error(f"unknown servers: {', '.join(unknown)}")
    if args.serve_with not in servers:
        servers.insert(0, args.serve_with)
    chosen = [o for o in args.operations.split(",") if o]
    if set(chosen) - set(OPERATIONS):
        parser.error(f"unknown operations: {', '.join(sorted(set(chosen) - set(OPERATIONS)))}")
    settings = Settings(
        args.rounds,
        args.seconds,
        args.warmup,
        args.processes,
        servers,
        args.serve_with,
        chosen,
        args.logs,
    )
    report: dict[str, Any] = {
        "settings": {
            "rounds": settings.rounds,
            "seconds": settings.seconds,
            "client_processes": settings.processes,
            "connections": CONNECTIONS,
            "server_workers": 1,
            "cpus": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        }
    }
    load = LoadGenerator(settings.processes)
    try:
        backends = args.backends.split(",")
        if "sqlite" in backends:
            with sqlite_databases() as env:
                report["sqlite"] = bench_backend("sqlite", {**os.environ, **env}, settings, load)
        postgres_legs = {
            "postgresql": postgres_databases,
            "postgresql_row_security": postgres_app_role_databases,
        }
        for name, databases in postgres_legs.items():
            if args.postgres and name in backends:
                with databases(args.postgres) as env:
                    report[name] = bench_backend(name, {**os.environ, **env}, settings, load)
    finally:
        load.close()
    report["settings"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
