"""Discovery of the uv workspace root, its configuration and its releasable packages."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .versioning import Requirement, Version, VersionError, normalize_name, requirement_name

TOOL_NAME = "agentfold-changeset"
CONFIG_SECTION = "agentfold-changeset"
CHANGESET_DIR = "changesets"
DEFAULT_MIGRATIONS: tuple[str, ...] = ("migrations/manage/versions", "migrations/runtime/versions")
DEFAULT_SCHEMA_PACKAGE = "agentfold-core"
DEFAULT_SCHEMA_TAG = "core-v*"
PRIVATE_CLASSIFIER = "Private :: Do Not Upload"


class WorkspaceError(Exception):
    """The workspace layout or configuration cannot be used."""


@dataclass(frozen=True)
class Config:
    """``[tool.agentfold-changeset]`` settings of the workspace root."""

    ignore: tuple[str, ...] = (TOOL_NAME,)
    migrations: tuple[str, ...] = DEFAULT_MIGRATIONS
    schema_package: str = DEFAULT_SCHEMA_PACKAGE
    schema_tag: str = DEFAULT_SCHEMA_TAG

    def is_ignored(self, name: str) -> bool:
        """Whether ``name`` is excluded from releases."""
        normalized = normalize_name(name)
        return any(normalize_name(ignored) == normalized for ignored in self.ignore)


@dataclass(frozen=True)
class Dependency:
    """A requirement on another workspace package, with where it lives in pyproject.toml.

    ``group`` is None for ``[project] dependencies`` and the extra's name for
    ``[project.optional-dependencies]``; ``index`` is the position in that array.
    """

    group: str | None
    index: int
    requirement: Requirement

    @property
    def location(self) -> str:
        """Human-readable pyproject location of the requirement."""
        if self.group is None:
            return "project.dependencies"
        return f"project.optional-dependencies.{self.group}"


@dataclass(frozen=True)
class Package:
    """A releasable workspace member."""

    name: str
    version: Version
    directory: Path
    dependencies: tuple[Dependency, ...]

    @property
    def pyproject(self) -> Path:
        """Path of the package's pyproject.toml."""
        return self.directory / "pyproject.toml"

    @property
    def changelog(self) -> Path:
        """Path of the package's CHANGELOG.md."""
        return self.directory / "CHANGELOG.md"

    @property
    def normalized_name(self) -> str:
        """PEP 503 normalised name."""
        return normalize_name(self.name)


@dataclass(frozen=True)
class Workspace:
    """The workspace root with its configuration and releasable packages (members order)."""

    root: Path
    config: Config
    packages: tuple[Package, ...]

    @property
    def changeset_dir(self) -> Path:
        """Directory holding pending changeset files."""
        return self.root / CHANGESET_DIR

    def get(self, name: str) -> Package | None:
        """The package called ``name`` (compared after PEP 503 normalisation)."""
        normalized = normalize_name(name)
        for package in self.packages:
            if package.normalized_name == normalized:
                return package
        return None

    def relative(self, path: Path) -> str:
        """``path`` relative to the root in POSIX form, for messages."""
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(path)

    def package_for_path(self, relative_path: str) -> Package | None:
        """The package whose directory contains the root-relative ``relative_path``."""
        best: Package | None = None
        best_depth = -1
        for package in self.packages:
            directory = self.relative(package.directory)
            if relative_path == directory or relative_path.startswith(directory + "/"):
                # Nested members: the deepest directory owns the file.
                depth = directory.count("/")
                if depth > best_depth:
                    best, best_depth = package, depth
        return best


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as error:
        raise WorkspaceError(f"cannot read {path}: {error.strerror}") from error
    except tomllib.TOMLDecodeError as error:
        raise WorkspaceError(f"{path}: invalid TOML: {error}") from error


def _is_workspace_root(path: Path) -> bool:
    pyproject = path / "pyproject.toml"
    if not pyproject.is_file():
        return False
    data = _load_toml(pyproject)
    tool = data.get("tool", {})
    return isinstance(tool, dict) and isinstance(tool.get("uv", {}).get("workspace"), dict)


def find_root(start: Path) -> Path:
    """Walk up from ``start`` to the directory whose pyproject.toml has [tool.uv.workspace]."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if _is_workspace_root(candidate):
            return candidate
    raise WorkspaceError(f"no pyproject.toml with [tool.uv.workspace] found at or above {start}")


def _string_list(value: object, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    if value is None:
        return default
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise WorkspaceError(f"[tool.{CONFIG_SECTION}] {key} must be a list of strings")
    return tuple(value)


def _string(value: object, key: str, default: str) -> str:
    if value is None:
        return default
    if not isinstance(value, str) or not value:
        raise WorkspaceError(f"[tool.{CONFIG_SECTION}] {key} must be a non-empty string")
    return value


def parse_config(root_data: Mapping[str, Any]) -> Config:
    """Read ``[tool.agentfold-changeset]`` from the parsed root pyproject."""
    tool = root_data.get("tool", {})
    section = tool.get(CONFIG_SECTION, {}) if isinstance(tool, dict) else {}
    if not isinstance(section, dict):
        raise WorkspaceError(f"[tool.{CONFIG_SECTION}] must be a table")
    return Config(
        ignore=_string_list(section.get("ignore"), "ignore", (TOOL_NAME,)),
        migrations=tuple(
            folder.strip("/")
            for folder in _string_list(section.get("migrations"), "migrations", DEFAULT_MIGRATIONS)
        ),
        schema_package=_string(
            section.get("schema-package"), "schema-package", DEFAULT_SCHEMA_PACKAGE
        ),
        schema_tag=_string(section.get("schema-tag"), "schema-tag", DEFAULT_SCHEMA_TAG),
    )


def _member_dirs(root: Path, members: Iterable[str], excludes: Iterable[str]) -> list[Path]:
    excluded = {path.resolve() for pattern in excludes for path in root.glob(pattern)}
    found: list[Path] = []
    for pattern in members:
        matches = (
            sorted(root.glob(pattern)) if any(c in pattern for c in "*?[") else [root / pattern]
        )
        for directory in matches:
            resolved = directory.resolve()
            if resolved in excluded or resolved in found:
                continue
            if (directory / "pyproject.toml").is_file():
                found.append(resolved)
    return found


def _is_releasable(data: Mapping[str, Any]) -> bool:
    project = data.get("project", {})
    if not isinstance(project.get("version"), str):
        # A dynamic or missing version cannot be bumped in pyproject.toml.
        return False
    if PRIVATE_CLASSIFIER in project.get("classifiers", []):
        return False
    uv = data.get("tool", {}).get("uv", {})
    return not (isinstance(uv, dict) and uv.get("package") is False)


def _raw_dependencies(project: Mapping[str, Any]) -> list[tuple[str | None, int, str]]:
    raw: list[tuple[str | None, int, str]] = []
    for index, text in enumerate(project.get("dependencies", [])):
        if isinstance(text, str):
            raw.append((None, index, text))
    optional = project.get("optional-dependencies", {})
    if isinstance(optional, dict):
        for group, items in optional.items():
            for index, text in enumerate(items if isinstance(items, list) else []):
                if isinstance(text, str):
                    raw.append((group, index, text))
    return raw


def load_workspace(root: Path) -> Workspace:
    """Read the workspace at ``root`` and its releasable members."""
    root = root.resolve()
    root_pyproject = root / "pyproject.toml"
    if not root_pyproject.is_file():
        raise WorkspaceError(f"{root} has no pyproject.toml")
    data = _load_toml(root_pyproject)
    workspace_table = data.get("tool", {}).get("uv", {}).get("workspace")
    if not isinstance(workspace_table, dict):
        raise WorkspaceError(f"{root_pyproject} has no [tool.uv.workspace] table")
    config = parse_config(data)
    members = workspace_table.get("members", [])
    excludes = workspace_table.get("exclude", [])

    loaded: list[tuple[str, Version, Path, Mapping[str, Any]]] = []
    for directory in _member_dirs(root, members, excludes):
        member_data = _load_toml(directory / "pyproject.toml")
        project = member_data.get("project", {})
        name = project.get("name")
        if not isinstance(name, str) or config.is_ignored(name) or not _is_releasable(member_data):
            continue
        try:
            version = Version.parse(project["version"])
        except VersionError as error:
            raise WorkspaceError(f"{directory / 'pyproject.toml'}: {error}") from error
        loaded.append((name, version, directory, project))

    names = {normalize_name(name) for name, _, _, _ in loaded}
    packages: list[Package] = []
    for name, version, directory, project in loaded:
        dependencies: list[Dependency] = []
        for group, index, text in _raw_dependencies(project):
            # Third-party requirements are never rewritten, so only ours must parse fully.
            target = requirement_name(text)
            if target not in names or target == normalize_name(name):
                continue
            try:
                requirement = Requirement.parse(text)
            except VersionError as error:
                raise WorkspaceError(f"{directory / 'pyproject.toml'}: {error}") from error
            dependencies.append(Dependency(group, index, requirement))
        packages.append(Package(name, version, directory, tuple(dependencies)))
    return Workspace(root, config, tuple(packages))
