"""Alembic stays inside ``agentfold_core/migrations/``; the CLI reaches SQL only through it.

(tests/unit/test_import_boundary.py guards SQLAlchemy imports in general.)
"""

from __future__ import annotations

import ast
from pathlib import Path

SOURCES = Path(__file__).resolve().parents[2] / "packages"


def _top_level_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_migrations_package_imports_alembic() -> None:
    importers = sorted(
        path.relative_to(SOURCES).as_posix()
        for path in SOURCES.glob("*/src/**/*.py")
        if "alembic" in _top_level_imports(path)
    )
    assert importers
    assert [p for p in importers if "/agentfold_core/migrations/" not in p] == []


def test_the_cli_imports_no_sql_library() -> None:
    cli = sorted((SOURCES / "core" / "src" / "agentfold_core" / "cli").glob("*.py"))
    assert cli
    for path in cli:
        assert _top_level_imports(path).isdisjoint({"sqlalchemy", "alembic", "sqlmodel"}), path
