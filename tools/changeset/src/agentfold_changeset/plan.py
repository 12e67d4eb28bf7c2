"""Release planning: which packages get which versions, and why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .changeset_file import Changeset
from .versioning import Bump, Requirement, Version, VersionError, bump_version, widen
from .workspace import Dependency, Package, Workspace


class PlanError(Exception):
    """The release plan cannot be computed (e.g. an unsupported requirement)."""


@dataclass(frozen=True)
class RequirementChange:
    """A widened requirement of a dependant on a released workspace package."""

    dependency: Dependency
    new: Requirement

    @property
    def old(self) -> Requirement:
        """The requirement as currently written."""
        return self.dependency.requirement


@dataclass
class PackageRelease:
    """The planned release of one package."""

    package: Package
    bump: Bump
    next_version: Version
    entries: list[tuple[Changeset, Bump]] = field(default_factory=list)
    dependency_updates: list[tuple[str, Version]] = field(default_factory=list)
    requirement_changes: list[RequirementChange] = field(default_factory=list)

    @property
    def is_dependency_bump(self) -> bool:
        """True when only dependency updates cause this release."""
        return not self.entries


@dataclass(frozen=True)
class ReleasePlan:
    """Planned releases in workspace members order."""

    changesets: tuple[Changeset, ...]
    releases: tuple[PackageRelease, ...]

    def release_for(self, name: str) -> PackageRelease | None:
        """The release of ``name``, if it is released."""
        for release in self.releases:
            if release.package.name == name:
                return release
        return None

    def to_json(self, workspace: Workspace) -> dict[str, Any]:
        """Machine-readable form used by ``status --json``."""
        packages: list[dict[str, Any]] = []
        for package in workspace.packages:
            release = self.release_for(package.name)
            item: dict[str, Any] = {
                "name": package.name,
                "path": workspace.relative(package.directory),
                "current": str(package.version),
                "next": str(release.next_version) if release else None,
                "bump": release.bump.label if release else None,
                "changesets": [],
                "dependency_updates": [],
                "requirement_changes": [],
            }
            if release:
                item["changesets"] = [
                    {"path": changeset.display_path, "bump": bump.label}
                    for changeset, bump in release.entries
                ]
                item["dependency_updates"] = [
                    {"name": name, "version": str(version)}
                    for name, version in release.dependency_updates
                ]
                item["requirement_changes"] = [
                    {"old": change.old.text, "new": change.new.text}
                    for change in release.requirement_changes
                ]
            packages.append(item)
        return {
            "changesets": [changeset.display_path for changeset in self.changesets],
            "packages": packages,
        }


def build_plan(workspace: Workspace, changesets: Sequence[Changeset]) -> ReleasePlan:
    """Combine changesets (highest bump wins) and propagate breaking dependency bumps."""
    bumps: dict[str, Bump] = {}
    entries: dict[str, list[tuple[Changeset, Bump]]] = {}
    for changeset in changesets:
        for release in changeset.releases:
            bumps[release.package] = max(bumps.get(release.package, release.bump), release.bump)
            entries.setdefault(release.package, []).append((changeset, release.bump))

    # Widened requirements, keyed by (dependant, group, index), so cascades see the new text.
    changes: dict[tuple[str, str | None, int], RequirementChange] = {}
    dependency_updates: dict[str, dict[str, Version]] = {}
    changed = True
    while changed:
        changed = False
        next_versions = {
            package.name: bump_version(package.version, bumps[package.name])
            for package in workspace.packages
            if package.name in bumps
        }
        for dependant in workspace.packages:
            for dependency in dependant.dependencies:
                target = workspace.get(dependency.requirement.name)
                if target is None or target.name not in next_versions:
                    continue
                new_version = next_versions[target.name]
                key = (dependant.name, dependency.group, dependency.index)
                current = changes[key].new if key in changes else dependency.requirement
                if current.specifiers.admits(new_version):
                    continue
                try:
                    widened = current.with_specifiers(widen(current.specifiers, new_version))
                except VersionError as error:
                    raise PlanError(
                        f"{workspace.relative(dependant.pyproject)}: {dependency.location}: {error}"
                    ) from error
                changes[key] = RequirementChange(dependency, widened)
                dependency_updates.setdefault(dependant.name, {})[target.name] = new_version
                # A patch is the smallest bump, so an existing bump always wins.
                bumps.setdefault(dependant.name, Bump.PATCH)
                changed = True

    releases: list[PackageRelease] = []
    for package in workspace.packages:
        if package.name not in bumps:
            continue
        bump = bumps[package.name]
        releases.append(
            PackageRelease(
                package=package,
                bump=bump,
                next_version=bump_version(package.version, bump),
                entries=entries.get(package.name, []),
                dependency_updates=sorted(dependency_updates.get(package.name, {}).items()),
                requirement_changes=[
                    change for key, change in changes.items() if key[0] == package.name
                ],
            )
        )
    return ReleasePlan(tuple(changesets), tuple(releases))
