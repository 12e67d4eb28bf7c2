"""Fixtures: a temporary two-package workspace mirroring the real one, git and CLI runners."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from agentfold_changeset.cli import main

ROOT_PYPROJECT = """\
[project]
name = "agentfold-workspace"
version = "0.0.0"
requires-python = ">=3.11"
dependencies = []

[tool.uv]
package = false

[tool.uv.workspace]
members = ["packages/core", "packages/api", "tools/changeset"]

[tool.agentfold-changeset]
ignore = ["agentfold-changeset"]
"""

CORE_PYPROJECT = """\
# Core library of the test workspace.
[project]
name = "agentfold-core"
version = "0.1.0"  # bumped by agentfold-changeset
description = "core"
requires-python = ">=3.11"
dependencies = [
    "sqlalchemy>=2.1.9,<2.2",  # database layer
    'pydantic>=2.14,<3',
]

[tool.hatch.build.targets.wheel]
packages = ["src/agentfold_core"]
"""

API_PYPROJECT = """\
[project]
name = "agentfold-api"
version = "0.1.0"
description = "api"
requires-python = ">=3.11"
dependencies = [
    # the core library
    "agentfold-core>=0.1.0,<0.2",
    "litestar>=2.25,<3",
]

[tool.hatch.build.targets.wheel]
packages = ["src/agentfold_api"]
"""

TOOL_PYPROJECT = """\
[project]
name = "agentfold-changeset"
version = "0.1.0"
dependencies = ["tomlkit>=0.15,<0.16"]
"""

Cli = Callable[..., tuple[int, str, str]]
Git = Callable[..., str]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A workspace root with agentfold-core, agentfold-api and the (ignored) tool."""
    files = {
        "pyproject.toml": ROOT_PYPROJECT,
        "packages/core/pyproject.toml": CORE_PYPROJECT,
        "packages/core/src/agentfold_core/__init__.py": "",
        "packages/api/pyproject.toml": API_PYPROJECT,
        "packages/api/src/agentfold_api/__init__.py": "",
        "tools/changeset/pyproject.toml": TOOL_PYPROJECT,
        "changesets/README.md": "# Changesets\n\nNot a changeset.\n",
    }
    workspace = tmp_path / "ws"
    for relative, text in files.items():
        path = workspace / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return workspace


@pytest.fixture
def git(root: Path) -> Git:
    """Run git in the workspace root; the fixture initialises the repository."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")

    def run(*args: str) -> str:
        result = subprocess.run(
            ["git", *args],  # noqa: S607 - the git on PATH that shutil.which found above
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout

    run("init", "--quiet", "--initial-branch=main")
    for key, value in {
        "user.name": "Test",
        "user.email": "test@example.com",
        "commit.gpgsign": "false",
        "tag.gpgsign": "false",
    }.items():
        run("config", key, value)
    return run


@pytest.fixture
def committed(root: Path, git: Git) -> Git:
    """The workspace committed on main and tagged ``core-v0.1.0``."""
    git("add", "-A")
    git("commit", "--quiet", "-m", "initial")
    git("tag", "core-v0.1.0")
    return git


@pytest.fixture
def lock_calls() -> list[Path]:
    """Roots the injected lock runner was called with."""
    return []


@pytest.fixture
def cli(root: Path, capsys: pytest.CaptureFixture[str], lock_calls: list[Path]) -> Cli:
    """Run the command line against ``root``; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--root", str(root), *args], lock_runner=lock_calls.append)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def write_changeset(root: Path, name: str, text: str) -> Path:
    """Write ``changesets/<name>.md`` (helper for tests, via the fixture below)."""
    path = root / "changesets" / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def changeset(root: Path) -> Callable[[str, str], Path]:
    """Write a raw changeset file: ``changeset(name, text)``."""
    return lambda name, text: write_changeset(root, name, text)
