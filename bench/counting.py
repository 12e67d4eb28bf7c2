"""Counting the statements an engine sends, for the benchmarks' reports."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event


class StatementCounter:
    """Counts the SQL statements an engine sends (BEGIN, COMMIT and ROLLBACK included).

    Listening to statements makes agentfold take SQLAlchemy's ordinary execution path
    (so that the listener sees everything): count outside the timed sections.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.count = 0

    def _statement(self, *_: object) -> None:
        self.count += 1

    @contextmanager
    def counting(self) -> Iterator[None]:
        """Count the statements sent inside the block."""
        names = ("before_cursor_execute", "commit", "rollback")
        for name in names:
            event.listen(self.engine, name, self._statement)
        try:
            yield
        finally:
            for name in names:
                event.remove(self.engine, name, self._statement)
