"""Rendering CHANGELOG.md sections and prepending them below the title."""

from __future__ import annotations

from collections.abc import Sequence

from .versioning import Bump, Version

SECTION_TITLES: dict[Bump, str] = {
    Bump.MAJOR: "Major Changes",
    Bump.MINOR: "Minor Changes",
    Bump.PATCH: "Patch Changes",
}


def bullet(text: str) -> str:
    """A Markdown list item; continuation lines are indented to stay inside the item."""
    lines = text.strip().splitlines()
    rest = [f"  {line}" if line.strip() else "" for line in lines[1:]]
    return "\n".join([f"- {lines[0]}", *rest])


def render_section(
    version: Version,
    entries: Sequence[tuple[Bump, str]],
    dependency_updates: Sequence[tuple[str, Version]] = (),
) -> str:
    """``## version`` with Major/Minor/Patch subsections (non-empty ones only)."""
    items: dict[Bump, list[str]] = {bump: [] for bump in SECTION_TITLES}
    for bump, summary in entries:
        items[bump].append(bullet(summary))
    if dependency_updates:
        updated = ", ".join(f"{name}@{new}" for name, new in dependency_updates)
        items[Bump.PATCH].append(f"- Updated dependencies: {updated}")
    parts = [f"## {version}"]
    for bump, title in SECTION_TITLES.items():
        if items[bump]:
            parts.append(f"### {title}")
            parts.append("\n".join(items[bump]))
    return "\n\n".join(parts) + "\n"


def prepend_section(existing: str | None, title: str, section: str) -> str:
    """Insert ``section`` right below the ``# title`` heading, above older sections."""
    if existing is None or not existing.strip():
        return f"# {title}\n\n{section}"
    lines = existing.splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if line.strip())
    if not lines[first].startswith("# "):
        return f"# {title}\n\n{section}\n{existing.lstrip()}"
    for index in range(first + 1, len(lines)):
        if lines[index].startswith("## "):
            head = "".join(lines[:index]).rstrip("\n")
            tail = "".join(lines[index:])
            return f"{head}\n\n{section}\n{tail}"
    return f"{existing.rstrip()}\n\n{section}"
