"""The statements a database's driver is given, captured for a test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from agentfold_core.db.engine import Database

Captured = list[tuple[str, Any]]


@contextmanager
def captured(database: Database) -> Iterator[Captured]:
    """The (SQL, parameters) pairs the driver is given while the block runs (listening
    makes the data layer send each statement through SQLAlchemy, one by one)."""
    statements: Captured = []

    def record(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        statements.append((statement, parameters))

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
