"""Fixtures of the migration tests: empty databases, and running ``agentfold`` in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from agentfold_core.cli import main
from tests.support.databases import (
    Backend,
    TestDatabases,
    create_test_databases,
    drop_test_databases,
)


@pytest.fixture
async def empty(backend: Backend, tmp_path: Path) -> AsyncIterator[TestDatabases]:
    """A manage and a runtime database with no schema at all, dropped after the test."""
    dbs = await create_test_databases(backend, tmp_path, schema=False)
    try:
        yield dbs
    finally:
        await drop_test_databases(dbs)


@dataclass(frozen=True)
class Run:
    """What one ``agentfold`` invocation printed and returned."""

    status: int
    out: str
    err: str


Agentfold = Callable[..., Run]


@pytest.fixture
def agentfold(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[[TestDatabases | None], Agentfold]:
    """Run ``agentfold`` in this process against the given databases' URLs."""

    def bind(dbs: TestDatabases | None) -> Agentfold:
        if dbs is not None:
            monkeypatch.setenv("AGENTFOLD_MANAGE_DATABASE_URL", dbs.manage_url)
            monkeypatch.setenv("AGENTFOLD_RUNTIME_DATABASE_URL", dbs.runtime_url)

        def run(*argv: str) -> Run:
            capsys.readouterr()
            try:
                status = main(list(argv))
            except SystemExit as exit_:  # --help and usage errors
                status = int(exit_.code or 0)
            captured = capsys.readouterr()
            return Run(status, captured.out, captured.err)

        return run

    return bind
