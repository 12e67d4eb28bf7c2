"""Only the doors open a database connection or transaction (DESIGN.md section 6).

Every read goes through ``data_access.doors.reading`` (or ``reading_system``) and every
write through ``writing`` or ``transaction``: ``Database.read()`` and
``Database.write()`` are called by ``data_access/doors.py`` alone. Besides the doors,
only ``db/engine.py`` (which implements ``read``/``write`` on the SQLAlchemy engine),
``db/kept.py`` (the connections it keeps between uses), ``db/sqlite_wal.py`` (the
SQLite log's checkpoints) and ``agentfold_core/migrations/`` (which runs DDL on its
own locked connection) open connections.

The scan covers both packages' sources and reports, outside those files:

- ``x.read()`` / ``x.write()`` called without positional arguments (the shape of
  ``Database.read(snapshot=...)`` and ``Database.write()``; ``stream.write(data)`` or
  ``file.read(n)`` are not database calls), and any use of ``Database.read`` or
  ``Database.write`` through the class;
- ``x.connect(...)``, ``connect(...)``, ``x.raw_connection()``, ``x.begin(...)`` and
  ``x.begin_nested(...)`` on anything: an engine, a driver or a connection;
- ``x.exec_driver_sql(...)`` outside the data layer (``data_access/`` and ``db/``,
  which may send SQL text on the connection a door handed them).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Paths are relative to a package's src/ directory.
MAY_OPEN = (
    "agentfold_core/data_access/doors.py",
    "agentfold_core/db/engine.py",
    "agentfold_core/db/kept.py",
    # The engine's housekeeping: the SQLite log's checkpoints, on a kept connection.
    "agentfold_core/db/sqlite_wal.py",
)
MIGRATIONS = "agentfold_core/migrations/"
DATA_LAYER = ("agentfold_core/data_access/", "agentfold_core/db/")
OPENERS = {"connect", "raw_connection", "begin", "begin_nested"}
UNITS = {"read", "write"}


def door_violations(source: str, relative: str) -> list[str]:
    """``"line: code"`` for each connection or transaction ``source`` opens outside the
    doors, as if it were the module at ``relative`` (to its package's src/)."""
    if relative in MAY_OPEN or relative.startswith(MIGRATIONS):
        return []
    raw_sql_allowed = relative.startswith(DATA_LAYER)
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename=relative)):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in UNITS
            and isinstance(node.value, ast.Name)
            and node.value.id == "Database"
        ):
            found.append((node.lineno, ast.unparse(node)))
            continue
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name):
            if func.id == "connect":
                found.append((node.lineno, ast.unparse(node)))
            continue
        if not isinstance(func, ast.Attribute):
            continue
        if (
            func.attr in OPENERS
            or (func.attr in UNITS and not node.args)
            or (func.attr == "exec_driver_sql" and not raw_sql_allowed)
        ):
            found.append((node.lineno, ast.unparse(node)))
    return [f"{line}: {code}" for line, code in sorted(set(found))]


def source_files() -> list[tuple[str, Path]]:
    """``(path relative to its src directory, file)`` of every package module."""
    return sorted(
        (path.relative_to(src).as_posix(), path)
        for src in ROOT.glob("packages/*/src")
        for path in src.rglob("*.py")
    )


AGENTS = "agentfold_core/data_access/manage/agents.py"
API = "agentfold_api/app.py"
CLI = "agentfold_core/cli/db.py"


def _function(statement: str) -> str:
    """``statement`` as line 2 of a function, as it would appear in a module."""
    return f"async def f(db, access, engine, url, stream):\n    {statement}\n        pass\n"


@pytest.mark.parametrize(
    ("statement", "relative"),
    [
        ("async with db.write() as conn:", AGENTS),
        ("async with db.write() as conn:", "agentfold_core/scopes.py"),
        ("async with db.read(snapshot=True) as conn:", API),
        ("if db.read():", CLI),
        ("async with Database.write(db) as conn:", AGENTS),
        ("async with db.engine.connect() as conn:", AGENTS),
        ("async with engine.begin() as conn:", API),
        ("if await access.conn.begin():", AGENTS),
        ("async with access.conn.begin_nested():", AGENTS),
        ("if db.engine.sync_engine.raw_connection():", AGENTS),
        ("with psycopg.connect(url) as conn:", API),
        ("async with connect(url) as conn:", API),
        ("if await access.conn.exec_driver_sql('ANALYZE'):", API),
        ("if await access.conn.exec_driver_sql('ANALYZE'):", CLI),
    ],
)
def test_the_checker_reports_a_connection_opened_outside_the_doors(
    statement: str, relative: str
) -> None:
    violations = door_violations(_function(statement), relative)
    assert len(violations) == 1, violations
    assert violations[0].startswith("2: ")


@pytest.mark.parametrize(
    ("statement", "relative"),
    [
        # The doors themselves, the engine they wrap, and the migrations.
        ("async with db.write() as conn:", MAY_OPEN[0]),
        ("async with engine.connect() as conn, conn.begin():", MAY_OPEN[1]),
        ("async with engine.begin() as conn:", MIGRATIONS + "session.py"),
        # SQL text on the connection a door handed over, inside the data layer.
        ("if await access.conn.exec_driver_sql('SELECT 1'):", AGENTS),
        # Reads and writes that are not a database's.
        ("if sys.stdout.write('done'):", CLI),
        ("if stream.read(1024):", API),
        ("if stream.read_text():", API),
        ("if stream.write(b'x'):", API),
        # Going through the doors.
        ("async with reading(db, scope) as access:", API),
        ("async with reading_system(db, snapshot=True) as access:", API),
        ("async with writing(db, scope, author='a') as access:", AGENTS),
        ("async with transaction(db) as unit:", AGENTS),
    ],
)
def test_the_checker_lets_the_doors_and_other_calls_pass(statement: str, relative: str) -> None:
    assert door_violations(_function(statement), relative) == []


def test_the_scan_sees_what_the_doors_do() -> None:
    files = dict(source_files())
    assert {*MAY_OPEN, "agentfold_api/app.py", "agentfold_core/cli/db.py"} <= set(files)
    # Moved anywhere else, the doors' and the engine's own code would be reported.
    for allowed in MAY_OPEN:
        moved = door_violations(files[allowed].read_text(encoding="utf-8"), "agentfold_api/x.py")
        assert moved, allowed


def test_only_the_doors_open_connections_and_transactions() -> None:
    offenders = [
        f"{relative}:{violation}"
        for relative, path in source_files()
        for violation in door_violations(path.read_text(encoding="utf-8"), relative)
    ]
    assert not offenders, f"a connection or transaction opened outside the doors: {offenders}"
