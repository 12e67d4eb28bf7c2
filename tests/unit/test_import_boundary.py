"""Only the database layers import SQLAlchemy and Alembic (DESIGN.md section 1).

ruff enforces the boundary: ``[tool.ruff.lint.flake8-tidy-imports.banned-api]`` bans
``sqlalchemy`` and ``alembic`` (TID251) and the ``per-file-ignores`` of TID251 in
pyproject.toml are the places allowed to import them. This module pins that
configuration (and proves ruff applies it), then checks with the AST what ruff cannot
see:

- dynamic imports, ``importlib.import_module("sqlalchemy...")`` or ``__import__``,
  which banned-api does not inspect;
- Alembic's narrower reach: ruff has one allow-list per rule, shared by every banned
  module, so the database layers it opens for SQLAlchemy (``db/``, ``data_access/``,
  ``versioning/``) would be open to Alembic too; Alembic belongs to
  ``agentfold_core/migrations/`` alone;
- SQLModel (not banned: the validation generator builds on it) kept out of the entry
  points, the ``agentfold`` CLI and the API.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BANNED = ("sqlalchemy", "alembic")
# The TID251 per-file-ignores of pyproject.toml: widening them is a deliberate edit here.
EXPECTED_ALLOWED = {
    "packages/core/src/agentfold_core/db/**",
    "packages/core/src/agentfold_core/data_access/**",
    "packages/core/src/agentfold_core/versioning/**",
    "packages/core/src/agentfold_core/migrations/**",
    "migrations/*/versions/*.py",
    "tests/**",
    "tools/changeset/tests/**",
    "bench/**",
    ".ci/*.py",
}
ALEMBIC_HOME = "packages/core/src/agentfold_core/migrations/"
ENTRY_POINTS = ("packages/core/src/agentfold_core/cli/", "packages/api/src/agentfold_api/")
_DYNAMIC_IMPORTERS = {"import_module", "__import__"}


def _lint_config() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        config: dict[str, object] = tomllib.load(file)["tool"]["ruff"]["lint"]
    return config


def allowed_patterns() -> set[str]:
    """The globs of pyproject.toml where TID251 is ignored."""
    ignores = _lint_config()["per-file-ignores"]
    assert isinstance(ignores, dict)
    return {pattern for pattern, rules in ignores.items() if "TID251" in rules}


def may_import_sql(relative: str, patterns: set[str]) -> bool:
    """Whether the file at ``relative`` (to the repository root) may import SQLAlchemy."""
    return any(fnmatchcase(relative, pattern) for pattern in patterns)


def _top(module: str) -> str:
    return module.split(".")[0]


def imports(source: str, filename: str = "<source>") -> list[tuple[int, str, bool]]:
    """``(line, top-level module, dynamic)`` of every absolute import in ``source``."""
    found: list[tuple[int, str, bool]] = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, _top(alias.name), False) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, _top(node.module), False))
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if (
                name in _DYNAMIC_IMPORTERS
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.append((node.lineno, _top(node.args[0].value), True))
    return sorted(found)


def dynamic_sql_imports(source: str, filename: str = "<source>") -> list[int]:
    """Lines importing SQLAlchemy or Alembic by name at run time (ruff cannot see these)."""
    return [
        line for line, module, dynamic in imports(source, filename) if dynamic and module in BANNED
    ]


def ruff_banned_imports(source: str, relative: str) -> list[int]:
    """Lines where ruff, with the repository's configuration, reports TID251 in ``source``
    as if it were the file at ``relative``."""
    ruff = (sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "TID251")
    result = subprocess.run(
        [*ruff, "--output-format", "json", "--stdin-filename", relative, "-"],
        input=source,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    return [finding["location"]["row"] for finding in json.loads(result.stdout)]


def python_files(*globs: str) -> list[tuple[str, Path]]:
    """``(path relative to the repository root, file)`` for each glob."""
    return sorted(
        (path.relative_to(ROOT).as_posix(), path) for glob in globs for path in ROOT.glob(glob)
    )


def shipped_files() -> list[tuple[str, Path]]:
    """The code users install: both packages and the migration environments."""
    return python_files("packages/*/src/**/*.py", "migrations/**/*.py")


# The configuration, and ruff applying it.


def test_the_configuration_bans_sqlalchemy_and_alembic() -> None:
    tidy = _lint_config()["flake8-tidy-imports"]
    assert isinstance(tidy, dict)
    assert set(tidy["banned-api"]) == set(BANNED)
    assert allowed_patterns() == EXPECTED_ALLOWED


@pytest.mark.parametrize(
    "relative",
    [
        "packages/api/src/agentfold_api/app.py",
        "packages/core/src/agentfold_core/validation/generate.py",
        "packages/core/src/agentfold_core/cli/db.py",
        "packages/core/src/agentfold_core/dbx/engine.py",
        "packages/core/src/agentfold_core/migrations_extra.py",
        "packages/api/src/agentfold_api/db/engine.py",
        "migrations/manage/env.py",
        "tools/changeset/src/agentfold_changeset/schema_rule.py",
    ],
)
def test_ruff_reports_sql_imports_outside_the_layers(relative: str) -> None:
    source = (
        "import sqlalchemy\n"
        "from sqlalchemy.ext.asyncio import AsyncConnection\n"
        "def f():\n"
        "    import sqlalchemy.orm as orm\n"
        "from alembic import op\n"
    )
    assert ruff_banned_imports(source, relative) == [1, 2, 4, 5]


@pytest.mark.parametrize(
    "relative",
    [
        "packages/core/src/agentfold_core/db/engine.py",
        "packages/core/src/agentfold_core/data_access/manage/agents.py",
        "packages/core/src/agentfold_core/versioning/merge.py",
        "packages/core/src/agentfold_core/migrations/env.py",
        "migrations/runtime/versions/0002_skills.py",
        "tests/unit/test_anything.py",
        "bench/scale.py",
    ],
)
def test_ruff_allows_sql_imports_inside_the_layers(relative: str) -> None:
    assert ruff_banned_imports("import sqlalchemy\nfrom alembic import op\n", relative) == []


def test_ruff_ignores_look_alikes() -> None:
    source = "import sqlalchemy_utils\nfrom . import sqlalchemy\nfrom .alembic import x\n"
    assert ruff_banned_imports(source, "packages/api/src/agentfold_api/app.py") == []


# What ruff cannot see.


@pytest.mark.parametrize(
    "source",
    [
        "import importlib\nimportlib.import_module('sqlalchemy.engine')",
        "from importlib import import_module\nimport_module('alembic.command')",
        "__import__('sqlalchemy')",
    ],
)
def test_detector_flags_dynamic_imports(source: str) -> None:
    assert dynamic_sql_imports(source) == [source.count("\n") + 1]


@pytest.mark.parametrize(
    "source",
    [
        "import sqlalchemy",
        "importlib.import_module(name)",
        "importlib.import_module('sqlalchemy_utils')",
        "importlib.import_module('.sqlalchemy', __package__)",
        "name = 'sqlalchemy'",
    ],
)
def test_detector_ignores_other_code(source: str) -> None:
    assert dynamic_sql_imports(source) == []


def test_allowed_locations() -> None:
    patterns = allowed_patterns()
    assert may_import_sql("packages/core/src/agentfold_core/db/engine.py", patterns)
    assert may_import_sql("packages/core/src/agentfold_core/data_access/crud.py", patterns)
    assert may_import_sql("migrations/manage/versions/0001_initial_schema.py", patterns)
    assert not may_import_sql("packages/core/src/agentfold_core/validation/input.py", patterns)
    assert not may_import_sql("packages/core/src/agentfold_core/migrations_extra.py", patterns)
    assert not may_import_sql("packages/api/src/agentfold_api/app.py", patterns)
    assert not may_import_sql("migrations/manage/env.py", patterns)


def test_the_scan_sees_the_database_layer() -> None:
    files = dict(shipped_files())
    assert "packages/core/src/agentfold_core/db/engine.py" in files
    assert "migrations/manage/env.py" in files
    assert "migrations/manage/versions/0001_initial_schema.py" in files


def test_no_dynamic_sql_import_outside_the_database_layers() -> None:
    patterns = allowed_patterns()
    offenders = [
        f"{relative}:{line}"
        for relative, path in shipped_files()
        if not may_import_sql(relative, patterns)
        for line in dynamic_sql_imports(path.read_text(encoding="utf-8"), str(path))
    ]
    assert not offenders, f"SQLAlchemy or Alembic imported by name outside the layers: {offenders}"


def test_only_the_migrations_package_imports_alembic() -> None:
    importers = sorted(
        relative
        for relative, path in python_files("packages/*/src/**/*.py")
        if "alembic" in {module for _, module, _ in imports(path.read_text(encoding="utf-8"))}
    )
    assert importers
    assert [p for p in importers if not p.startswith(ALEMBIC_HOME)] == []


def test_the_entry_points_import_no_sqlmodel() -> None:
    files = [
        (r, p) for r, p in python_files("packages/*/src/**/*.py") if r.startswith(ENTRY_POINTS)
    ]
    assert {r for r, _ in files} >= {
        "packages/core/src/agentfold_core/cli/db.py",
        "packages/api/src/agentfold_api/app.py",
    }
    offenders = [
        relative
        for relative, path in files
        if "sqlmodel" in {module for _, module, _ in imports(path.read_text(encoding="utf-8"))}
    ]
    assert offenders == []
