"""Instructions per API request, counted by valgrind's callgrind, as ratios to the
trivial JSON handler counted the same way in the same run.

Wall-clock figures on a shared 2-core machine move by 1.5-2x from one hour to the
next; the number of instructions a request executes does not (two runs agree to
0.2%), so a change of a few percent in the request path is visible here when
``api.py`` cannot resolve it. It is a proxy: it leaves out the kernel (sockets,
``write`` calls), the server (``api.py`` measures those) and cache misses.

Each operation runs in a child process under ``valgrind --tool=callgrind`` with
instrumentation off: the real application (``create_app`` plus the trivial handler of
``api_app.py``) on SQLite files, seeded in-process (tenant, admin key, project, 20
agents), each operation warmed up; instrumentation is switched on
(``callgrind_control``) for ``--requests`` in-process ASGI calls and off again.

    uv run python bench/instructions.py [--requests 200] [--operations get_agent,patch_agent]

Needs ``valgrind`` (with ``callgrind_control``) on the path; exits 2 without it. About
a minute per operation on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

OPERATIONS = ("trivial", "get_agent", "list_agents", "patch_agent")
AGENTS = 20
_COLLECTED = re.compile(r"Collected : (\d+)")


def _toggle(on: bool) -> None:
    # Instrumentation of this very process, switched from outside by callgrind_control.
    state = "on" if on else "off"
    subprocess.run(  # noqa: S603 - fixed argv
        ["callgrind_control", "-i", state, str(os.getpid())],  # noqa: S607
        check=True,
        stdout=subprocess.DEVNULL,
    )


async def _child(operation: str, requests: int) -> None:
    """Seed the app, warm ``operation`` up, count ``requests`` calls of it."""
    from pydantic import SecretStr

    from agentfold_api.app import create_app
    from agentfold_api.settings import ApiSettings
    from agentfold_core.migrations import upgrade
    from agentfold_core.secrets.keyring import new_entry
    from agentfold_core.settings import DatabaseSettings, SecretSettings
    from api_app import TRIVIAL_PATH, trivial
    from scratch import sqlite_scratch
    from secret_costs import OPERATOR, Asgi

    async with sqlite_scratch() as dbs:
        await upgrade(dbs.manage)
        await upgrade(dbs.runtime)
        urls = [
            d.engine.url.render_as_string(hide_password=False) for d in (dbs.manage, dbs.runtime)
        ]
        app = create_app(
            DatabaseSettings(manage_database_url=urls[0], runtime_database_url=urls[1]),
            ApiSettings(admin_token=SecretStr(OPERATOR), maintenance=False),
            SecretSettings(secret_keys=SecretStr(new_entry())),
        )
        app.register(trivial)
        client = Asgi(app)
        async with app.lifespan():
            tenant = "/manage/tenants/bench"
            await client.call("POST", "/manage/tenants", OPERATOR, {"id": "bench", "name": "B"})
            issued = await client.call(
                "POST", f"{tenant}/api-keys", OPERATOR, {"role": "admin", "name": "bench"}
            )
            key = issued["key"]
            await client.call("POST", f"{tenant}/projects", key, {"id": "shop", "name": "Shop"})
            project = f"{tenant}/projects/shop"
            for i in range(AGENTS):
                body = {"id": f"agent-{i:02d}", "name": f"Agent {i}", "prompt": "p" * 200}
                await client.call("POST", f"{project}/agents", key, body)
            count = 0

            async def call() -> None:
                nonlocal count
                count += 1
                agent = f"{project}/agents/agent-{count % AGENTS:02d}"
                if operation == "trivial":
                    await client.call("GET", TRIVIAL_PATH, key)
                elif operation == "get_agent":
                    await client.call("GET", agent, key)
                elif operation == "list_agents":
                    await client.call("GET", f"{project}/agents", key)  # the default page
                else:
                    await client.call("PATCH", agent, key, {"description": f"edit {count}"})

            for _ in range(200):
                await call()
            _toggle(True)
            for _ in range(requests):
                await call()
            _toggle(False)


def _count(operation: str, requests: int) -> int:
    """Instructions of ``requests`` calls of ``operation``, from a child under callgrind."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp, "callgrind.out")
        done = subprocess.run(  # noqa: S603 - argv built here
            [
                *("valgrind", "--tool=callgrind", "--instr-atstart=no"),
                f"--callgrind-out-file={out}",
                *(sys.executable, __file__, "--child", operation, "--requests", str(requests)),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(
            f"{operation}: the child failed ({done.returncode}):\n{done.stderr[-3000:]}"
        )
    return int(found.group(1))


def main() -> None:
    """Count every operation in a child each; print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--operations", default=",".join(OPERATIONS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(_child(args.child, args.requests))
        return
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind (with callgrind_control) is needed", file=sys.stderr)
        raise SystemExit(2)
    wanted = ["trivial", *(o for o in args.operations.split(",") if o and o != "trivial")]
    unknown = sorted(set(wanted) - set(OPERATIONS))
    if unknown:
        raise SystemExit(f"unknown operations: {unknown}")
    per_request = {op: _count(op, args.requests) / args.requests for op in wanted}
    baseline = per_request["trivial"]
    report: dict[str, Any] = {"requests": args.requests, "backend": "sqlite"}
    for op, count in per_request.items():
        report[op] = {"instructions": round(count), "ratio_to_trivial": round(baseline / count, 3)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
