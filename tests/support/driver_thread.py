"""What the data layer hands to aiosqlite's driver thread (SQLite's thread hops)."""

from __future__ import annotations

from typing import Any

import aiosqlite.core
import pytest


def handed_to_thread(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, the name of every function sent to aiosqlite's thread, in order."""
    handed: list[str] = []
    original: Any = aiosqlite.core.Connection._execute

    async def counted(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        handed.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counted)
    return handed
