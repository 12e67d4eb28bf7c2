"""The secrets a test run creates, and every log line it writes, compared at its end.

Helpers that make a secret (a credential value, an API key's plaintext, a token)
``register`` it; a handler on the root logger keeps each record's message (and its
traceback). ``leaks`` then names every line holding a registered secret: the root
conftest fails the run on any. Under pytest-xdist each worker scans its own lines.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

# Shorter values would match by chance (and no secret the tests make is shorter).
MIN_SECRET_LENGTH = 8


@dataclass(frozen=True, slots=True)
class Leak:
    """A log line holding a secret: which logger, and the line with the secret masked."""

    logger: str
    line: str


class _Lines(logging.Handler):
    """Keeps the text of every record it sees: cheap enough for a whole run."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.lines: list[tuple[str, str]] = []
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record's message, its traceback and stack if any."""
        try:
            text = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: keep what it has
            text = str(record.msg)
        if record.exc_info:
            text += "\n" + self._formatter.formatException(record.exc_info)
        if record.stack_info:
            text += "\n" + record.stack_info
        self.lines.append((record.name, text))


class SecretScan:
    """Registered secrets and the log lines to scan for them."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self.handler = _Lines()

    def register(self, *values: str) -> None:
        """Look for ``values`` in every log line of the run."""
        for value in values:
            if len(value) < MIN_SECRET_LENGTH:
                raise ValueError("too short to scan for without false alarms")
            self._secrets.add(value)

    @property
    def secrets(self) -> frozenset[str]:
        """What is scanned for."""
        return frozenset(self._secrets)

    def leaks(self) -> list[Leak]:
        """Every captured line holding a registered secret (the secret masked)."""
        if not self._secrets:
            return []
        # One pass over each line whatever the number of secrets; longest first, so a
        # secret containing another is masked whole.
        pattern = re.compile(
            "|".join(re.escape(s) for s in sorted(self._secrets, key=len, reverse=True))
        )
        return [
            Leak(name, pattern.sub("<secret>", text))
            for name, text in self.handler.lines
            if pattern.search(text)
        ]


SCAN = SecretScan()


def register_secret(*values: str) -> None:
    """Look for ``values`` in every log line of this run (``SCAN``)."""
    SCAN.register(*values)
