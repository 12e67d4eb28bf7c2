"""Only the database layers import SQLAlchemy: ``agentfold_core/db/``,
``agentfold_core/data_access/``, ``agentfold_core/versioning/`` and
``agentfold_core/migrations(.py|/)``. Everything else (the API included) goes through
data-access functions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ALLOWED_DIRECTORIES = (
    "agentfold_core/db/",
    "agentfold_core/data_access/",
    "agentfold_core/versioning/",
    "agentfold_core/migrations/",
)
ALLOWED_FILES = ("agentfold_core/migrations.py",)
_DYNAMIC_IMPORTERS = {"import_module", "__import__"}


def _is_sqlalchemy(module: str) -> bool:
    return module == "sqlalchemy" or module.startswith("sqlalchemy.")


def sqlalchemy_imports(source: str, filename: str = "<source>") -> list[int]:
    """Line numbers of every import of SQLAlchemy (or a submodule) in ``source``."""
    lines = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            if any(_is_sqlalchemy(alias.name) for alias in node.names):
                lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module and _is_sqlalchemy(node.module):
                lines.append(node.lineno)
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if (
                name in _DYNAMIC_IMPORTERS
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and _is_sqlalchemy(node.args[0].value)
            ):
                lines.append(node.lineno)
    return sorted(lines)


def source_files() -> list[tuple[str, Path]]:
    """``(path relative to its src directory, file)`` of every package module."""
    files = []
    for src in sorted(ROOT.glob("packages/*/src")):
        for path in sorted(src.rglob("*.py")):
            files.append((path.relative_to(src).as_posix(), path))
    return files


def may_import_sqlalchemy(relative: str) -> bool:
    return relative.startswith(ALLOWED_DIRECTORIES) or relative in ALLOWED_FILES


@pytest.mark.parametrize(
    "source",
    [
        "import sqlalchemy",
        "import sqlalchemy as sa",
        "import os, sqlalchemy.orm",
        "import sqlalchemy.ext.asyncio as aio",
        "from sqlalchemy import select",
        "from sqlalchemy.dialects.postgresql import JSONB",
        "def f():\n    x = 1\n    from sqlalchemy.sql import text",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from sqlalchemy import Table",
        "import importlib\nimportlib.import_module('sqlalchemy.engine')",
        "__import__('sqlalchemy')",
    ],
)
def test_detector_flags_sqlalchemy_imports(source: str) -> None:
    assert sqlalchemy_imports(source) == [source.count("\n") + 1]


@pytest.mark.parametrize(
    "source",
    [
        "import sqlmodel",
        "from sqlmodel import SQLModel",
        "import sqlalchemy_utils",
        "from . import sqlalchemy",
        "from .sqlalchemy import helpers",
        "name = 'sqlalchemy'",
        "# import sqlalchemy",
        "importlib.import_module(name)",
    ],
)
def test_detector_ignores_other_code(source: str) -> None:
    assert sqlalchemy_imports(source) == []


def test_allowed_locations() -> None:
    assert may_import_sqlalchemy("agentfold_core/db/engine.py")
    assert may_import_sqlalchemy("agentfold_core/data_access/manage/agents.py")
    assert may_import_sqlalchemy("agentfold_core/versioning/merge.py")
    assert may_import_sqlalchemy("agentfold_core/migrations.py")
    assert may_import_sqlalchemy("agentfold_core/migrations/env.py")
    assert not may_import_sqlalchemy("agentfold_core/dbx/engine.py")
    assert not may_import_sqlalchemy("agentfold_core/validation/generate.py")
    assert not may_import_sqlalchemy("agentfold_core/migrations_extra.py")
    assert not may_import_sqlalchemy("agentfold_api/app.py")
    assert not may_import_sqlalchemy("agentfold_api/db/engine.py")


def test_the_scan_sees_the_database_layer() -> None:
    files = dict(source_files())
    assert "agentfold_core/db/engine.py" in files
    # The detector finds the real imports where they are allowed.
    assert sqlalchemy_imports(files["agentfold_core/db/engine.py"].read_text())


def test_no_sqlalchemy_import_outside_the_database_layers() -> None:
    offenders = [
        f"{relative}:{line}"
        for relative, path in source_files()
        if not may_import_sqlalchemy(relative)
        for line in sqlalchemy_imports(path.read_text(encoding="utf-8"), str(path))
    ]
    assert not offenders, f"SQLAlchemy imported outside the database layers: {offenders}"
