"""What authentication and secrets cost on the hot path, as ratios to a whole
``GET`` agent request measured in the same process, in the same run.

The real application (``create_app``) serves an in-process ASGI call (no sockets, so
the request's own cost is not hidden under the server's): ``GET .../agents/{id}``
with an admin key, which verifies that key, reads the agent at its branch head and
encodes it. Beside it, on the same databases:

- ``verify_key``: ``verify_api_key`` of the same key, as every request does: one
  indexed read (so a revocation or an expiry holds from the next request) and an
  HMAC against the secret this process has already verified (scrypt runs once);
- ``decrypt_secret``: ``EncryptedStore.get`` of a credential secret: one read and an
  AES-256-GCM unwrap + decrypt;
- ``open_sealed``: the decryption alone (no database);
- ``scrypt``: what a verification would cost if every request hashed the key.

Targets: ``verify_key`` and ``decrypt_secret`` ≤ 0.2 of the request each. Timers are
interleaved in rounds; figures are medians.

    uv run python bench/secret_costs.py [--iterations 2000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import SecretStr

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from agentfold_api.app import create_app  # noqa: E402
from agentfold_api.settings import ApiSettings  # noqa: E402
from agentfold_core.credentials.encrypted import EncryptedStore  # noqa: E402
from agentfold_core.data_access.runtime.api_keys import verify_api_key  # noqa: E402
from agentfold_core.data_access.runtime.credential_secrets import (  # noqa: E402
    read_sealed_secret,
    sealed_of,
)
from agentfold_core.migrations import upgrade  # noqa: E402
from agentfold_core.scopes import ProjectScope  # noqa: E402
from agentfold_core.secrets.api_keys import hash_secret, parse_key, verify_secret  # noqa: E402
from agentfold_core.secrets.envelope import SecretIdentity, open_sealed  # noqa: E402
from agentfold_core.secrets.keyring import new_entry, parse_key_ring  # noqa: E402
from agentfold_core.settings import DatabaseSettings, SecretSettings  # noqa: E402
from scratch import Scratch, postgres_scratch, sqlite_scratch  # noqa: E402

Timer = Callable[[], Awaitable[Any]]
OPERATOR = "bench-operator-" + "x" * 32
TENANT, PROJECT, AGENT, SECRET = "bench", "shop", "triage", "openai"
TARGETS = {"verify_key": 0.2, "decrypt_secret": 0.2}


class Asgi:
    """Requests to the app in the same process: bytes in, status and body out."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def call(self, method: str, path: str, token: str, body: Any = None) -> Any:
        """The decoded JSON body of a 2xx answer; anything else stops the run."""
        raw = b"" if body is None else json.dumps(body).encode()
        headers = [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())]
        if body is not None:
            headers += [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(raw)),
            ]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
            "state": {},
        }
        sent = False
        answer: dict[str, Any] = {"body": b""}

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": raw, "more_body": False}
            await asyncio.Event().wait()  # never: the request has one body
            return {}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            elif message["type"] == "http.response.body":
                answer["body"] += message.get("body", b"")

        await self.app(scope, receive, send)
        if not 200 <= answer["status"] < 300:
            raise RuntimeError(f"{method} {path}: {answer['status']} {answer['body'][:300]!r}")
        return json.loads(answer["body"]) if answer["body"] else None


async def _median_us(timer: Timer, count: int) -> float:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await timer()
        samples.append((time.perf_counter() - started) * 1e6)
    return statistics.median(samples)


async def _interleaved(timers: dict[str, Timer], iterations: int) -> dict[str, float]:
    for _ in range(20):
        for timer in timers.values():
            await timer()
    rounds = 5
    samples: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(rounds):
        for name, timer in timers.items():
            samples[name].append(await _median_us(timer, max(iterations // rounds, 1)))
    return {name: statistics.median(values) for name, values in samples.items()}


async def bench_backend(dbs: Scratch, urls: tuple[str, str], iterations: int) -> dict[str, Any]:
    """Figures of one backend."""
    await upgrade(dbs.manage)
    await upgrade(dbs.runtime)
    ring_text = new_entry()
    ring = parse_key_ring(ring_text, "bench")
    app = create_app(
        DatabaseSettings(manage_database_url=urls[0], runtime_database_url=urls[1]),
        ApiSettings(admin_token=SecretStr(OPERATOR), maintenance=False),
        SecretSettings(secret_keys=SecretStr(ring_text)),
    )
    client = Asgi(app)
    async with app.lifespan():
        await client.call("POST", "/manage/tenants", OPERATOR, {"id": TENANT, "name": "Bench"})
        issued = await client.call(
            "POST", f"/manage/tenants/{TENANT}/api-keys", OPERATOR, {"role": "admin", "name": "b"}
        )
        key = issued["key"]
        tenant = f"/manage/tenants/{TENANT}"
        await client.call("POST", f"{tenant}/projects", key, {"id": PROJECT, "name": "Shop"})
        project = f"{tenant}/projects/{PROJECT}"
        await client.call(
            "POST", f"{project}/agents", key, {"id": AGENT, "name": "Triage", "prompt": "p"}
        )
        scope = ProjectScope(TENANT, PROJECT)
        store = EncryptedStore(dbs.runtime, ring)
        await store.set(scope, SECRET, "sk-bench-" + "s" * 40)
        sealed_row = await read_sealed_secret(dbs.runtime)(
            scopes=scope, credential_secret_id=SECRET
        )
        if sealed_row is None:
            raise RuntimeError("the secret was not stored")
        sealed = sealed_of(sealed_row)
        identity = SecretIdentity(TENANT, PROJECT, SECRET)
        parsed = parse_key(key)
        if parsed is None:
            raise RuntimeError(f"an issued key does not parse: {key[:8]}...")
        # The stored hash is never returned: hash the secret afresh for the scrypt figure.
        hashed = hash_secret(parsed[1])
        verify = verify_api_key(dbs.runtime)
        agent_path = f"{project}/agents/{AGENT}"

        async def get_request() -> Any:
            return await client.call("GET", agent_path, key)

        async def verify_key() -> Any:
            found = await verify(key=key)
            if found is None:
                raise RuntimeError("the admin key did not verify")
            return found

        async def decrypt_secret() -> Any:
            return await store.get(scope, SECRET)

        async def open_only() -> Any:
            return open_sealed(ring, identity, sealed)

        medians = await _interleaved(
            {
                "get_agent_request": get_request,
                "verify_key": verify_key,
                "decrypt_secret": decrypt_secret,
                "open_sealed": open_only,
            },
            iterations,
        )
        started = time.perf_counter()
        matched = verify_secret(parsed[1], hashed)
        scrypt_us = (time.perf_counter() - started) * 1e6
        if not matched:
            raise RuntimeError("scrypt did not match its own hash")
    request = medians.pop("get_agent_request")
    result: dict[str, Any] = {"get_agent_request_us": round(request, 1)}
    for name, value in {**medians, "scrypt": scrypt_us}.items():
        ratio = value / request
        result[name] = {"us": round(value, 1), "ratio_to_get_agent_request": round(ratio, 3)}
        if name in TARGETS:
            result[name]["target"] = f"<= {TARGETS[name]}"
            result[name]["pass"] = ratio <= TARGETS[name]
    return result


def _urls(dbs: Scratch) -> tuple[str, str]:
    manage, runtime = (
        d.engine.url.render_as_string(hide_password=False) for d in (dbs.manage, dbs.runtime)
    )
    return manage, runtime


async def main() -> None:
    """Run on SQLite and, given ``--postgres``, on PostgreSQL; print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--postgres", default=os.environ.get("AGENTFOLD_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    report: dict[str, Any] = {"iterations": args.iterations, "load_average": os.getloadavg()}
    async with sqlite_scratch() as dbs:
        report["sqlite"] = await bench_backend(dbs, _urls(dbs), args.iterations)
    if args.postgres:
        async with postgres_scratch(args.postgres, "secrets") as dbs:
            report["postgresql"] = await bench_backend(dbs, _urls(dbs), args.iterations)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
