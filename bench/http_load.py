"""A closed-loop HTTP/1.1 load generator for ``bench/api.py``: client processes, each
an asyncio loop driving keep-alive connections over ``asyncio.open_connection`` with
hand-built request bytes, so the client costs a few µs per request, not a library's."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.context import SpawnProcess
from multiprocessing.queues import Queue

# Bodies of the first non-2xx answers kept for the report (enough to say what failed).
_SAMPLE_BYTES = 300


@dataclass(frozen=True)
class Operation:
    """One kind of request: the paths it rotates through and, for writes, a JSON body
    in which ``{n}`` is replaced by a value unique to each request (so each write is a
    real change)."""

    name: str
    method: str
    paths: tuple[str, ...]
    token: str | None = None
    body: str | None = None
    # Each connection keeps to one path (its own row) instead of rotating: concurrent
    # writes then never race on one row, and each one changes what it names.
    path_per_connection: bool = False


@dataclass(frozen=True)
class Job:
    """What one client process runs: ``connections`` connections from ``start_at``
    (wall clock, shared by all processes) for ``seconds``."""

    host: str
    port: int
    operation: Operation
    connections: int
    first_connection: int  # global index of this process's first connection
    start_at: float
    seconds: float


@dataclass
class Outcome:
    """What one client process saw: requests completed inside the window, their
    latencies (µs), the non-2xx answers and a sample of them, and the CPU the client
    process itself used (to show it is far cheaper per request than the server)."""

    ok: int = 0
    failed: int = 0
    latencies_us: list[int] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)
    cpu_seconds: float = 0.0


class _Requests:
    """The bytes of each request of one connection."""

    def __init__(self, job: Job, connection: int) -> None:
        op = job.operation
        head = [f"Host: {job.host}:{job.port}", "Accept: application/json"]
        if op.token is not None:
            head.append(f"Authorization: Bearer {op.token}")
        self._head = "\r\n".join(head)
        index = job.first_connection + connection
        self._paths = (op.paths[index % len(op.paths)],) if op.path_per_connection else op.paths
        self._offset = index
        self._method = op.method
        self._body = op.body
        self._tag = f"{index}-{time.time_ns()}"
        # Bodiless requests are the same every time round: built once.
        self._fixed = [self._build(p, None) for p in self._paths] if op.body is None else None

    def _build(self, path: str, body: bytes | None) -> bytes:
        line = f"{self._method} {path} HTTP/1.1\r\n{self._head}\r\n"
        if body is None:
            return (line + "\r\n").encode()
        framing = f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        return (line + framing).encode() + body

    def __iter__(self) -> Iterator[bytes]:
        n = self._offset
        fixed, body = self._fixed, self._body
        while True:
            n += 1
            if fixed is not None:
                yield fixed[n % len(fixed)]
            elif body is not None:
                unique = body.replace("{n}", f"{self._tag}-{n}").encode()
                yield self._build(self._paths[n % len(self._paths)], unique)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Status and body of one response (``Content-Length`` framing, as the service
    answers JSON)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lowered = head.lower()
    at = lowered.find(b"\r\ncontent-length:")
    if at < 0:
        raise RuntimeError(f"a response without Content-Length: {head[:200]!r}")
    end = lowered.find(b"\r\n", at + 2)
    length = int(lowered[at + 17 : end])
    return status, await reader.readexactly(length) if length else b""


async def _connection(job: Job, index: int, outcome: Outcome) -> None:
    reader, writer = await asyncio.open_connection(job.host, job.port)
    end = job.start_at + job.seconds
    requests = iter(_Requests(job, index))
    await asyncio.sleep(max(0.0, job.start_at - time.time()))
    try:
        while time.time() < end:
            started = time.perf_counter_ns()
            writer.write(next(requests))
            status, body = await _read_response(reader)
            elapsed = time.perf_counter_ns() - started
            # A request that ends after the window is not counted: the window's
            # throughput is what completed inside it.
            if time.time() > end:
                break
            if 200 <= status < 300:
                outcome.ok += 1
                outcome.latencies_us.append(elapsed // 1000)
            else:
                outcome.failed += 1
                if len(outcome.samples) < 3:
                    outcome.samples.append(
                        f"{status} {body[:_SAMPLE_BYTES].decode(errors='replace')}"
                    )
    finally:
        writer.close()
        await writer.wait_closed()


async def _run(job: Job) -> Outcome:
    outcome = Outcome()
    await asyncio.gather(*(_connection(job, i, outcome) for i in range(job.connections)))
    return outcome


def run_job(job: Job) -> Outcome:
    """Run one job on a fresh event loop (uvloop when installed: a cheaper client)."""
    started = time.process_time()
    try:
        import uvloop
    except ImportError:
        outcome = asyncio.run(_run(job))
    else:
        outcome = uvloop.run(_run(job))
    outcome.cpu_seconds = time.process_time() - started
    return outcome


def _client_main(jobs: Queue[Job | None], results: Queue[Outcome | BaseException]) -> None:
    while (job := jobs.get()) is not None:
        try:
            results.put(run_job(job))
        except Exception as error:  # noqa: BLE001 - handed back to the parent, which raises it
            results.put(error)


def split(total: int, parts: int) -> list[int]:
    """``total`` connections over ``parts`` processes, as evenly as possible."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


class LoadGenerator:
    """Client processes started once and reused for every measurement."""

    def __init__(self, processes: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._jobs: list[Queue[Job | None]] = [context.Queue() for _ in range(processes)]
        self._results: Queue[Outcome | BaseException] = context.Queue()
        self._workers: list[SpawnProcess] = [
            context.Process(target=_client_main, args=(jobs, self._results), daemon=True)
            for jobs in self._jobs
        ]
        for worker in self._workers:
            worker.start()

    @property
    def processes(self) -> int:
        """How many client processes there are."""
        return len(self._workers)

    def run(
        self,
        host: str,
        port: int,
        operation: Operation,
        *,
        connections: int,
        seconds: float,
        processes: int | None = None,
    ) -> Outcome:
        """``connections`` concurrent connections over ``processes`` client processes
        (default: all) for ``seconds``; the outcomes of all processes merged."""
        used = self._jobs[: processes or len(self._jobs)]
        # Far enough ahead that every process has its connections open when it starts.
        start_at = time.time() + 0.3
        first = 0
        for jobs, count in zip(used, split(connections, len(used)), strict=True):
            jobs.put(Job(host, port, operation, count, first, start_at, seconds))
            first += count
        merged = Outcome()
        for _ in used:
            got = self._results.get(timeout=seconds + 120)
            if isinstance(got, BaseException):
                raise got
            merged.ok += got.ok
            merged.failed += got.failed
            merged.latencies_us += got.latencies_us
            merged.samples += got.samples
            merged.cpu_seconds += got.cpu_seconds
        return merged

    def close(self) -> None:
        """Stop the client processes."""
        for jobs in self._jobs:
            jobs.put(None)
        for worker in self._workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.terminate()


def percentile(values: Sequence[int], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))])


__all__ = ["Job", "LoadGenerator", "Operation", "Outcome", "percentile", "run_job", "split"]
