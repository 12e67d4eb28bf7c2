"""Parsing, validating and writing changeset files (the JavaScript changesets format).

A changeset is a Markdown file with a YAML front matter mapping package names to bumps::

    ---
    "agentfold-core": minor
    ---

    Summary text.
"""

from __future__ import annotations

import difflib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from .problems import Problem
from .readable_name import unique_readable_name
from .versioning import BUMP_LABELS, Bump, normalize_name
from .workspace import Workspace

FENCE = "---"
README = "readme.md"
_EXPECTED_BUMPS = ", ".join(BUMP_LABELS[:-1]) + " or " + BUMP_LABELS[-1]


class ChangesetError(Exception):
    """Changeset files are invalid or a new changeset cannot be written."""

    def __init__(self, problems: Sequence[Problem | str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


@dataclass(frozen=True)
class Release:
    """One ``"package": bump`` line of a changeset."""

    package: str
    bump: Bump
    line: int


@dataclass(frozen=True)
class Changeset:
    """A parsed changeset file."""

    path: Path
    display_path: str
    releases: tuple[Release, ...]
    summary: str

    def bump_for(self, package: str) -> Bump | None:
        """The bump this changeset asks for ``package``, if it names it."""
        normalized = normalize_name(package)
        for release in self.releases:
            if normalize_name(release.package) == normalized:
                return release.bump
        return None


def _parse_bump(text: str) -> Bump | None:
    # Exactly the lower-case labels, as the JavaScript tool accepts.
    return Bump.parse(text) if text in BUMP_LABELS else None


def _unknown_package_message(name: str, workspace: Workspace) -> str:
    if workspace.config.is_ignored(name):
        return f'package "{name}" is not released (it is in the ignore list)'
    message = f'unknown package "{name}"'
    close = difflib.get_close_matches(name, [package.name for package in workspace.packages], 1)
    if close:
        message += f' (did you mean "{close[0]}"?)'
    return message


def _parse_front_matter(
    text: str, first_line: int, display_path: str, workspace: Workspace
) -> tuple[list[Release], list[Problem]]:
    """Parse the YAML between the fences; ``first_line`` is the file line of its first line."""
    problems: list[Problem] = []

    def problem(offset: int, message: str) -> None:
        problems.append(Problem(display_path, first_line + offset, message))

    if not text.strip():
        return [], problems
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        reason = error.problem or error.context or "syntax error"
        problem(mark.line if mark else 0, f"invalid YAML in front matter: {reason}")
        return [], problems
    except yaml.YAMLError as error:
        problem(0, f"invalid YAML in front matter: {error}")
        return [], problems
    if node is None:
        return [], problems
    if not isinstance(node, yaml.MappingNode):
        problem(
            node.start_mark.line,
            'front matter must map package names to bump types, e.g. "agentfold-core": minor',
        )
        return [], problems

    releases: list[Release] = []
    seen: dict[str, int] = {}
    for key_node, value_node in node.value:
        key_line = key_node.start_mark.line
        if not isinstance(key_node, yaml.ScalarNode) or not key_node.value:
            problem(key_line, "expected a package name")
            continue
        name = str(key_node.value)
        package = workspace.get(name)
        if package is None:
            problem(key_line, _unknown_package_message(name, workspace))
        elif package.normalized_name in seen:
            first = seen[package.normalized_name]
            problem(key_line, f'package "{name}" is listed twice (first on line {first})')
            package = None
        else:
            seen[package.normalized_name] = first_line + key_line

        value_line = value_node.start_mark.line
        if not isinstance(value_node, yaml.ScalarNode):
            problem(value_line, f'bump type for "{name}" must be one of {_EXPECTED_BUMPS}')
            continue
        value = str(value_node.value)
        if not value:
            problem(value_line, f'missing bump type for "{name}" (expected {_EXPECTED_BUMPS})')
            continue
        bump = _parse_bump(value)
        if bump is None:
            problem(
                value_line,
                f'unknown bump type "{value}" for "{name}" (expected {_EXPECTED_BUMPS})',
            )
            continue
        if package is not None:
            releases.append(Release(package.name, bump, first_line + key_line))
    return releases, problems


def parse_changeset(
    text: str, path: Path, display_path: str, workspace: Workspace
) -> tuple[Changeset | None, list[Problem]]:
    """Parse one changeset; returns the changeset (None when invalid) and its problems."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != FENCE:
        return None, [
            Problem(display_path, 1, "missing front matter: the file must start with a '---' line")
        ]
    closing = next((i for i in range(1, len(lines)) if lines[i].strip() == FENCE), None)
    if closing is None:
        return None, [
            Problem(display_path, 1, "front matter is not closed: expected a second '---' line")
        ]
    releases, problems = _parse_front_matter(
        "\n".join(lines[1:closing]), 2, display_path, workspace
    )
    summary = "\n".join(line.rstrip() for line in lines[closing + 1 :]).strip("\n")
    if releases and not summary.strip():
        problems.append(
            Problem(display_path, closing + 1, "missing summary after the front matter")
        )
    if problems:
        return None, problems
    return Changeset(path, display_path, tuple(releases), summary), []


def changeset_paths(workspace: Workspace) -> list[Path]:
    """Pending changeset files (``*.md`` except README.md), sorted by name."""
    directory = workspace.changeset_dir
    if not directory.is_dir():
        return []
    return sorted(
        path for path in directory.glob("*.md") if path.is_file() and path.name.lower() != README
    )


def read_changesets(workspace: Workspace) -> tuple[list[Changeset], list[Problem]]:
    """Parse every pending changeset; returns the valid ones and all problems."""
    changesets: list[Changeset] = []
    problems: list[Problem] = []
    for path in changeset_paths(workspace):
        display_path = workspace.relative(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            problems.append(Problem(display_path, 1, f"cannot read file: {error}"))
            continue
        changeset, file_problems = parse_changeset(text, path, display_path, workspace)
        problems.extend(file_problems)
        if changeset is not None:
            changesets.append(changeset)
    return changesets, problems


def load_changesets(workspace: Workspace) -> list[Changeset]:
    """Parse every pending changeset or raise ChangesetError listing all problems."""
    changesets, problems = read_changesets(workspace)
    if problems:
        raise ChangesetError(problems)
    return changesets


def render_changeset(releases: Sequence[tuple[str, Bump]], summary: str) -> str:
    """Changeset file text for ``releases`` and ``summary``."""
    # json.dumps yields a double-quoted string that is also valid YAML.
    front = "".join(f"{json.dumps(name)}: {bump.label}\n" for name, bump in releases)
    return f"{FENCE}\n{front}{FENCE}\n\n{summary.strip()}\n"


def parse_release_argument(argument: str, workspace: Workspace) -> tuple[str, Bump]:
    """Parse a ``PACKAGE:BUMP`` command-line argument into a canonical name and bump."""
    name, separator, bump_text = argument.rpartition(":")
    if not separator or not name or not bump_text:
        raise ChangesetError([f"invalid release {argument!r}: expected PACKAGE:BUMP"])
    package = workspace.get(name)
    if package is None:
        raise ChangesetError([_unknown_package_message(name, workspace)])
    bump = _parse_bump(bump_text)
    if bump is None:
        raise ChangesetError(
            [f'unknown bump type "{bump_text}" for "{name}" (expected {_EXPECTED_BUMPS})']
        )
    return package.name, bump


def write_changeset(
    workspace: Workspace,
    releases: Sequence[tuple[str, Bump]],
    summary: str,
    rng: random.Random | None = None,
) -> Path:
    """Validate and write a new changeset under a unique readable name; returns its path."""
    errors: list[Problem | str] = []
    seen: set[str] = set()
    for name, _ in releases:
        package = workspace.get(name)
        if package is None:
            errors.append(_unknown_package_message(name, workspace))
        elif package.normalized_name in seen:
            errors.append(f'package "{name}" is listed twice')
        else:
            seen.add(package.normalized_name)
    if not summary.strip():
        errors.append("the summary must not be empty")
    if errors:
        raise ChangesetError(errors)

    directory = workspace.changeset_dir
    directory.mkdir(parents=True, exist_ok=True)
    text = render_changeset(releases, summary)
    generator = rng if rng is not None else random.SystemRandom()
    while True:
        path = directory / f"{unique_readable_name(directory, generator)}.md"
        try:
            # Exclusive creation: never overwrite a changeset created concurrently.
            with path.open("x", encoding="utf-8") as handle:
                handle.write(text)
        except FileExistsError:
            continue
        return path
