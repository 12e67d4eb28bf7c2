"""Backend matrix: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is reached through ``AGENTFOLD_TEST_POSTGRES_URL`` (a server URL such as
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``); each run creates and drops
its own databases. Without it the PostgreSQL leg is skipped locally and fails in CI.

Every run also scans its own log lines for the secrets its tests made
(``tests/support/secret_scan.py``): a secret in any log line fails the run.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.databases import (
    Backend,
    TestDatabases,
    create_test_databases,
    drop_test_databases,
    postgres_server_url,
)
from tests.support.secret_scan import SCAN

POSTGRES_ENV = "AGENTFOLD_TEST_POSTGRES_URL"
# Apps under test (and `agentfold serve` run by tests) share databases with tests that
# make stuck runs and expired rows on purpose: no background sweep or retention there.
# tests/api/test_maintenance.py turns it on for its own app.
os.environ.setdefault("AGENTFOLD_MAINTENANCE", "false")


def pytest_report_header() -> list[str]:
    """Say which backends this run covers."""
    url = os.environ.get(POSTGRES_ENV)
    if url:
        return [f"agentfold backends: sqlite, postgresql ({POSTGRES_ENV} set)"]
    return [
        f"agentfold backends: sqlite only; set {POSTGRES_ENV}="
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres to run the PostgreSQL leg"
    ]


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_any_log_line() -> Iterator[None]:
    """Capture every log line of the run (each xdist worker its own); at the end, fail
    if one holds a registered secret. Set up first, so it is torn down last."""
    root = logging.getLogger()
    # agentfold's own loggers at every level: a secret logged at DEBUG is still logged.
    ours = logging.getLogger("agentfold")
    level = ours.level
    ours.setLevel(logging.DEBUG)
    root.addHandler(SCAN.handler)
    try:
        yield
    finally:
        root.removeHandler(SCAN.handler)
        ours.setLevel(level)
    leaks = SCAN.leaks()
    if leaks:
        shown = "\n".join(f"  {leak.logger}: {leak.line[:300]!r}" for leak in leaks[:20])
        pytest.fail(f"{len(leaks)} log lines hold a secret the tests made:\n{shown}")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> Backend:
    """Which database backend the test runs on."""
    name: Backend = request.param
    if name == "postgresql" and postgres_server_url() is None:
        message = f"PostgreSQL leg skipped: set {POSTGRES_ENV} to run it"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{POSTGRES_ENV} must be set in CI", pytrace=False)
        pytest.skip(message)
    return name


@pytest.fixture(scope="session")
async def databases(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TestDatabases]:
    """A manage and a runtime database with the current schema, for the whole run."""
    dbs = await create_test_databases(backend, tmp_path_factory.mktemp(f"db-{backend}"))
    try:
        yield dbs
    finally:
        await drop_test_databases(dbs)


@dataclass(frozen=True)
class Ids:
    """Fresh ids, so tests sharing a database never see each other's rows."""

    tenant: str
    other_tenant: str
    project: str


@pytest.fixture
def ids() -> Ids:
    """Unique tenant and project ids for one test."""
    token = secrets.token_hex(4)
    return Ids(tenant=f"t-{token}", other_tenant=f"u-{token}", project=f"p-{token}")


@pytest.fixture
def tmp_cwd(tmp_path: Path) -> Iterator[Path]:
    """Run the test inside an empty temporary directory."""
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)
