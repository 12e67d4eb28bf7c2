"""Applying a release plan: pyproject versions, requirements, changelogs, lock file."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, MutableMapping, MutableSequence, Sequence
from pathlib import Path
from typing import Any

import tomlkit

from .changelog import prepend_section, render_section
from .plan import ReleasePlan, RequirementChange
from .workspace import Workspace

LockRunner = Callable[[Path], None]


class ReleaseError(Exception):
    """The plan cannot be applied to the files on disk."""


class LockError(Exception):
    """Refreshing the lock file failed."""


def run_uv_lock(root: Path) -> None:
    """Refresh ``uv.lock`` with ``uv lock --offline`` in ``root``."""
    # Under `uv run`, $UV names the running uv even when it is not on PATH.
    executable = os.environ.get("UV") or shutil.which("uv")
    if executable is None:
        raise LockError("uv is not installed or not on PATH")
    result = subprocess.run(  # noqa: S603 - the running uv, fixed arguments
        [executable, "lock", "--offline"], cwd=root, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        detail = result.stderr.strip() or result.stdout.strip()
        raise LockError(f"`uv lock --offline` exited with status {result.returncode}: {detail}")


def _read(path: Path) -> str:
    # newline="" keeps CRLF files byte-identical outside the edited values.
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.read()


def _write(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def _table(value: object, where: str) -> MutableMapping[str, Any]:
    if not isinstance(value, MutableMapping):
        raise ReleaseError(f"{where} is not a table")
    return value


def _array(value: object, where: str) -> MutableSequence[Any]:
    if not isinstance(value, MutableSequence):
        raise ReleaseError(f"{where} is not an array")
    return value


def _apply_requirement(
    project: MutableMapping[str, Any], change: RequirementChange, where: str
) -> None:
    dependency = change.dependency
    if dependency.group is None:
        array = _array(project.get("dependencies"), f"{where}: project.dependencies")
    else:
        groups = _table(
            project.get("optional-dependencies"), f"{where}: project.optional-dependencies"
        )
        array = _array(groups.get(dependency.group), f"{where}: {dependency.location}")
    index = dependency.index
    if index >= len(array) or str(array[index]) != change.old.text:
        raise ReleaseError(f"{where}: {dependency.location} changed while versioning")
    array[index] = change.new.text


def render_pyproject(
    text: str, version: str, changes: Sequence[RequirementChange], where: str
) -> str:
    """``text`` with a new ``[project] version`` and rewritten requirements, formatting kept."""
    document = tomlkit.parse(text)
    project = _table(document.get("project"), f"{where}: [project]")
    project["version"] = version
    for change in changes:
        _apply_requirement(project, change, where)
    return tomlkit.dumps(document)


def apply_plan(workspace: Workspace, plan: ReleasePlan) -> list[Path]:
    """Write versions, requirements and changelogs, then delete the consumed changesets.

    Every new file content is computed before anything is written, so a failure leaves the
    workspace untouched. Returns the written files.
    """
    writes: dict[Path, str] = {}
    for release in plan.releases:
        package = release.package
        where = workspace.relative(package.pyproject)
        writes[package.pyproject] = render_pyproject(
            _read(package.pyproject),
            str(release.next_version),
            release.requirement_changes,
            where,
        )
        section = render_section(
            release.next_version,
            [(bump, changeset.summary) for changeset, bump in release.entries],
            release.dependency_updates,
        )
        existing = _read(package.changelog) if package.changelog.is_file() else None
        writes[package.changelog] = prepend_section(existing, package.name, section)

    for path, text in writes.items():
        _write(path, text)
    for changeset in plan.changesets:
        changeset.path.unlink(missing_ok=True)
    return list(writes)
