"""Run records: what the call log, the usage report and the credit ledger cost.

For each backend, in one run, interleaved in rounds:

- ``usage_report`` of one day (1,000 calls) on a table of ``--rows`` LLM calls
  (default 1,000,000) / the same report on a table of 10,000 (target ≤ 2.0: the cost
  follows the range, not the table); tenant-wide grouped by model and provider, and
  one project grouped by agent (a join with the runs);
- ``record_llm_call`` / a plain insert of the same row through the data layer
  (``LLM_CALLS.create``: same validation and door, no run check) (target ≤ 1.5);
- ``consume_credits``: throughput of 10 concurrent consumers on 10 different
  principals / one consumer (target ≥ 1.5 on PostgreSQL: principals do not block
  each other; SQLite serialises writers, so about 1 there).

The call log is loaded in bulk (COPY on PostgreSQL, executemany on SQLite) into scratch
databases (created and dropped here), in time order as a log grows, then analysed.

    uv run python bench/runs.py [--rows 1000000] [--iterations 200] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agentfold_core.data_access.doors import writing
from agentfold_core.data_access.project_lifecycle import create_project
from agentfold_core.data_access.runtime.calls import LLM_CALLS, record_llm_call
from agentfold_core.data_access.runtime.credits import consume_credits, grant_credits
from agentfold_core.data_access.runtime.runs import RUNS, start_run
from agentfold_core.data_access.runtime.usage import usage_report
from agentfold_core.db.engine import Database
from agentfold_core.ids import generate_id
from agentfold_core.migrations import upgrade
from agentfold_core.scopes import ProjectScope, TenantScope
from scratch import Scratch, postgres_scratch, sqlite_scratch

TENANT, PROJECT = "bench", "calls"
SMALL_ROWS = 10_000
PER_DAY = 1_000  # calls per day: the measured day holds this many on both tables
CALLS_PER_RUN = 1_000
AGENTS = ("triage", "billing", "sales", "support")
MODELS = ("m-small", "m-large", "m-reasoning", "m-mini")
PROVIDERS = ("openai", "anthropic")
FIRST_DAY = datetime(2030, 1, 1, tzinfo=UTC)
CONSUMERS = 10
Timer = Callable[[], Awaitable[Any]]


# ---------------------------------------------------------------------- loading


@dataclass(frozen=True)
class CallLog:
    """A runtime database holding a call log of ``rows`` calls, and its measured day."""

    runtime: Database
    rows: int
    day: datetime


def _runs(rows: int) -> list[str]:
    return [f"run-{n}" for n in range(max(1, rows // CALLS_PER_RUN))]


def _calls(rows: int) -> Iterator[dict[str, Any]]:
    """``rows`` calls, ``PER_DAY`` a day from ``FIRST_DAY``, in time order."""
    runs = _runs(rows)
    step = timedelta(days=1) / PER_DAY
    for n in range(rows):
        at = FIRST_DAY + step * n
        yield {
            "tenant_id": TENANT,
            "project_id": PROJECT,
            "id": f"call-{n:08d}",
            "created_at": at,
            "updated_at": at,
            "run_id": runs[n // CALLS_PER_RUN % len(runs)],
            "step_id": None,
            "provider": PROVIDERS[n % 2],
            "model": MODELS[n % 4],
            "input_tokens": 1000 + n % 97,
            "cache_write_tokens": 0,
            "cache_read_tokens": n % 13,
            "reasoning_tokens": 0,
            "output_tokens": 200 + n % 31,
            "cost": Decimal(n % 5000).scaleb(-6),
            "credits": Decimal(n % 700).scaleb(-3),
            "byok": False,
            "latency_ms": 800,
            "ttft_ms": 120,
            "request_body": None,
            "response_body": None,
        }


def _copy_text(value: Any) -> str:
    """One value in COPY's text format (the values here hold no tabs or newlines)."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


async def _project(scratch: Scratch, project_id: str) -> ProjectScope:
    await create_project(scratch.manage, scratch.runtime)(
        scopes=TenantScope(TENANT), data={"id": project_id, "name": project_id}
    )
    return ProjectScope(TENANT, project_id)


async def _load(scratch: Scratch, rows: int) -> CallLog:
    """The schema, the project, its runs and ``rows`` calls, analysed."""
    runtime = scratch.runtime
    await upgrade(scratch.manage)
    await upgrade(runtime)
    scope = await _project(scratch, PROJECT)
    async with writing(runtime, scope) as access:
        values = [
            RUNS.insert_values(
                access.target, {"id": r, "agent_id": AGENTS[n % 4], "status": "completed"}
            )
            for n, r in enumerate(_runs(rows))
        ]
        await RUNS.insert_many(access, values)
    columns = list(LLM_CALLS.table.c.keys())
    if runtime.backend == "postgresql":
        url = make_url(str(runtime.engine.url.render_as_string(hide_password=False)))
        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        async with await psycopg.AsyncConnection.connect(conninfo) as conn:
            async with conn.cursor() as cursor:
                names = ", ".join(columns)
                async with cursor.copy(f"COPY llm_calls ({names}) FROM STDIN") as copy:
                    # COPY's text format written in blocks: psycopg's per-value
                    # adaptation of write_row would take most of the load's time.
                    lines: list[str] = []
                    for call in _calls(rows):
                        lines.append("\t".join(_copy_text(call[c]) for c in columns))
                        if len(lines) == 20_000:
                            await copy.write("\n".join(lines) + "\n")
                            lines = []
                    if lines:
                        await copy.write("\n".join(lines) + "\n")
            await conn.commit()
            await conn.set_autocommit(True)
            await conn.execute("VACUUM ANALYZE llm_calls")
            await conn.execute("VACUUM ANALYZE agent_runs")
    else:
        batch: list[dict[str, Any]] = []
        async with writing(runtime, scope) as access:
            for call in _calls(rows):
                batch.append(call)
                if len(batch) == 50_000:
                    await access.conn.execute(LLM_CALLS.table.insert(), batch)
                    batch = []
            if batch:
                await access.conn.execute(LLM_CALLS.table.insert(), batch)
        async with runtime.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    days = rows // PER_DAY
    return CallLog(runtime, rows, FIRST_DAY + timedelta(days=days // 2))


# ---------------------------------------------------------------------- timing


async def _median_us(fn: Timer, iterations: int) -> float:
    samples = []
    for _ in range(iterations):
        start = time.perf_counter_ns()
        await fn()
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1000


async def _compare(timers: dict[str, Timer], iterations: int, rounds: int) -> dict[str, Any]:
    """Median µs of each timer over interleaved rounds, and the first / the second."""
    for _ in range(5):
        for timer in timers.values():
            await timer()
    samples: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(rounds):
        for name, timer in timers.items():
            samples[name].append(await _median_us(timer, max(1, iterations // rounds)))
    medians = {name: round(statistics.median(values), 1) for name, values in samples.items()}
    first, second = list(medians)
    return {"us": medians, "ratio": round(medians[first] / medians[second], 2)}


async def _usage(big: CallLog, small: CallLog, iterations: int, rounds: int) -> dict[str, Any]:
    def report(log: CallLog, scope: TenantScope, groups: tuple[str, ...]) -> Timer:
        run_report = usage_report(log.runtime)
        end = log.day + timedelta(days=1)

        async def timer() -> None:
            found = await run_report(scopes=scope, start=log.day, end=end, group_by=groups)
            if sum(r.calls for r in found) != PER_DAY:
                raise RuntimeError(f"the day should hold {PER_DAY} calls: {found}")

        return timer

    tenant, project = TenantScope(TENANT), ProjectScope(TENANT, PROJECT)
    return {
        "tenant_by_model_provider": await _compare(
            {
                f"{big.rows}_rows": report(big, tenant, ("model", "provider")),
                f"{small.rows}_rows": report(small, tenant, ("model", "provider")),
            },
            iterations,
            rounds,
        ),
        "project_by_agent": await _compare(
            {
                f"{big.rows}_rows": report(big, project, ("agent",)),
                f"{small.rows}_rows": report(small, project, ("agent",)),
            },
            iterations,
            rounds,
        ),
    }


async def _record(log: CallLog, iterations: int, rounds: int) -> dict[str, Any]:
    runtime = log.runtime
    scope = ProjectScope(TENANT, PROJECT)
    run = await start_run(runtime)(scopes=scope, data={"agent_id": "triage"})
    row = {
        "run_id": run.id,
        "provider": "anthropic",
        "model": "m-large",
        "input_tokens": 1200,
        "cache_read_tokens": 800,
        "output_tokens": 300,
        "cost": "0.004215000",
        "credits": "4.215",
        "latency_ms": 900,
        "ttft_ms": 150,
    }
    record, plain = record_llm_call(runtime), LLM_CALLS.create(runtime)

    async def recorded() -> None:
        await record(scopes=scope, data={**row, "id": generate_id()})

    async def inserted() -> None:
        await plain(scopes=scope, data={**row, "id": generate_id()})

    return await _compare(
        {"record_llm_call": recorded, "plain_insert": inserted}, iterations, rounds
    )


async def _credits(scratch: Scratch, operations: int, rounds: int) -> dict[str, Any]:
    runtime = scratch.runtime
    scopes = [await _project(scratch, f"payer-{n}") for n in range(CONSUMERS + 1)]
    grant = grant_credits(runtime)
    for scope in scopes:
        await grant(scopes=scope, operation_id=f"grant-{scope.project_id}", amount="100000000")
    consume = consume_credits(runtime)

    async def consumer(scope: ProjectScope, count: int) -> None:
        for _ in range(count):
            await consume(scopes=scope, operation_id=generate_id(), amount="0.25")

    async def one() -> float:
        start = time.perf_counter()
        await consumer(scopes[-1], operations)
        return operations / (time.perf_counter() - start)

    async def many() -> float:
        start = time.perf_counter()
        each = operations // CONSUMERS
        await asyncio.gather(*(consumer(s, each) for s in scopes[:CONSUMERS]))
        return each * CONSUMERS / (time.perf_counter() - start)

    await one()
    await many()
    single, concurrent = [], []
    for _ in range(rounds):
        single.append(await one())
        concurrent.append(await many())
    ops = {
        f"{CONSUMERS}_consumers": round(statistics.median(concurrent), 1),
        "one_consumer": round(statistics.median(single), 1),
    }
    return {
        "ops_per_s": ops,
        "ratio": round(ops[f"{CONSUMERS}_consumers"] / ops["one_consumer"], 2),
    }


# ---------------------------------------------------------------------- backends


@asynccontextmanager
async def _scratch(backend: str, server: str | None, label: str) -> AsyncIterator[Scratch]:
    if backend == "postgresql" and server is not None:
        async with postgres_scratch(server, label) as found:
            yield found
    else:
        async with sqlite_scratch() as found:
            yield found


async def _bench_backend(backend: str, server: str | None, args: argparse.Namespace) -> Any:
    async with AsyncExitStack() as stack:
        small_db = await stack.enter_async_context(_scratch(backend, server, "runs_small"))
        big_db = await stack.enter_async_context(_scratch(backend, server, "runs_big"))
        started = time.perf_counter()
        big = await _load(big_db, args.rows)
        load_s = time.perf_counter() - started
        small = await _load(small_db, SMALL_ROWS)
        return {
            "load": {"rows": args.rows, "seconds": round(load_s, 1)},
            "usage_report_one_day": await _usage(big, small, args.iterations, args.rounds),
            "record_llm_call_vs_plain_insert": await _record(small, args.iterations, args.rounds),
            "consume_credits_concurrency": await _credits(small_db, args.operations, args.rounds),
        }


async def main() -> None:
    """Run the benchmark on SQLite, and on PostgreSQL when a server is given."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="calls in the large log")
    parser.add_argument("--iterations", type=int, default=200, help="timed calls per figure")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument(
        "--operations", type=int, default=200, help="consumptions per throughput sample"
    )
    parser.add_argument("--postgres", default=os.environ.get("AGENTFOLD_TEST_POSTGRES_URL"))
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    if args.rows < 2 * PER_DAY:
        parser.error(f"--rows must be at least {2 * PER_DAY}")
    report: dict[str, Any] = {}
    for backend in args.backends.split(","):
        if backend == "postgresql" and not args.postgres:
            continue
        report[backend] = await _bench_backend(backend, args.postgres, args)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
