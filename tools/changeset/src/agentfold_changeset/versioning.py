"""Version, specifier and requirement arithmetic for plain ``X.Y.Z`` release versions.

Only final release versions are supported: the workspace publishes plain semver versions, so
pre-releases, post-releases and local versions are rejected instead of half-supported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum
from functools import total_ordering


class VersionError(ValueError):
    """A version, specifier or requirement string that cannot be handled."""


class Bump(IntEnum):
    """Kind of version bump; ordering follows severity so ``max`` picks the largest."""

    PATCH = 1
    MINOR = 2
    MAJOR = 3

    @property
    def label(self) -> str:
        """Lower-case name as written in changeset files."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Bump:
        """Parse ``major``, ``minor`` or ``patch``."""
        try:
            return cls[text.upper()]
        except KeyError:
            raise VersionError(f"unknown bump type {text!r}") from None


BUMP_LABELS: tuple[str, ...] = tuple(bump.label for bump in sorted(Bump, reverse=True))

_VERSION_RE = re.compile(r"^\d+(?:\.\d+)*$")


@total_ordering
@dataclass(frozen=True, eq=False)
class Version:
    """A release version made of dot-separated non-negative integers."""

    release: tuple[int, ...]

    @classmethod
    def parse(cls, text: str) -> Version:
        """Parse ``1``, ``1.2`` or ``1.2.3`` style versions."""
        stripped = text.strip()
        if not _VERSION_RE.match(stripped):
            raise VersionError(f"unsupported version {text!r} (expected X.Y.Z)")
        return cls(tuple(int(part) for part in stripped.split(".")))

    def minimal(self) -> Version:
        """The same version without trailing zero components (``1.0.0`` -> ``1``)."""
        release = list(self.release)
        while len(release) > 1 and release[-1] == 0:
            release.pop()
        return Version(tuple(release))

    def _key(self) -> tuple[int, ...]:
        # PEP 440 treats 1.0 and 1.0.0 as equal, so compare without trailing zeros.
        return self.minimal().release

    def padded(self, length: int) -> tuple[int, ...]:
        """Release tuple padded with zeros to at least ``length`` components."""
        return self.release + (0,) * max(0, length - len(self.release))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key()

    def __str__(self) -> str:
        return ".".join(str(part) for part in self.release)


def bump_version(version: Version, bump: Bump) -> Version:
    """Apply a semver bump; pre-1.0 versions follow the same rules (0.1.0 + major = 1.0.0)."""
    if len(version.release) > 3:
        raise VersionError(f"cannot bump {version}: more than three components")
    major, minor, patch = version.padded(3)
    if bump is Bump.MAJOR:
        return Version((major + 1, 0, 0))
    if bump is Bump.MINOR:
        return Version((major, minor + 1, 0))
    return Version((major, minor, patch + 1))


def bump_between(old: Version, new: Version) -> Bump | None:
    """The bump that leads from ``old`` to ``new``, or None when ``new`` is not newer."""
    if new <= old:
        return None
    old_major, old_minor, _ = old.padded(3)[:3]
    new_major, new_minor, _ = new.padded(3)[:3]
    if new_major != old_major:
        return Bump.MAJOR
    if new_minor != old_minor:
        return Bump.MINOR
    return Bump.PATCH


def breaking_boundary(version: Version) -> Version:
    """First version that may break ``version``: next minor for 0.x, next major from 1.0."""
    major, minor = version.padded(2)[:2]
    if major == 0:
        return Version((0, minor + 1))
    return Version((major + 1,))


_SPECIFIER_RE = re.compile(r"^(~=|===|==|!=|<=|>=|<|>)\s*(\S+)$")


@dataclass(frozen=True)
class Specifier:
    """One PEP 440 version clause such as ``>=0.1.0`` or ``==1.*``."""

    operator: str
    version: str

    @classmethod
    def parse(cls, text: str) -> Specifier:
        """Parse a single clause."""
        match = _SPECIFIER_RE.match(text.strip())
        if not match:
            raise VersionError(f"unsupported version specifier {text.strip()!r}")
        operator, version = match.groups()
        if operator != "===":
            # Validate eagerly so later evaluation cannot fail halfway through a plan.
            wildcard = version.endswith(".*")
            if wildcard and operator not in ("==", "!="):
                raise VersionError(f"wildcard not allowed with {operator!r} in {text.strip()!r}")
            Version.parse(version[:-2] if wildcard else version)
            if operator == "~=" and len(Version.parse(version).release) < 2:
                raise VersionError(f"'~=' needs at least two components in {text.strip()!r}")
        return cls(operator, version)

    @property
    def is_wildcard(self) -> bool:
        """True for ``==X.*`` / ``!=X.*`` clauses."""
        return self.version.endswith(".*")

    def admits(self, candidate: Version) -> bool:
        """Whether ``candidate`` satisfies this clause."""
        if self.operator == "===":
            return str(candidate) == self.version
        if self.is_wildcard:
            prefix = Version.parse(self.version[:-2]).release
            matches = candidate.padded(len(prefix))[: len(prefix)] == prefix
            return matches if self.operator == "==" else not matches
        bound = Version.parse(self.version)
        if self.operator == "==":
            return candidate == bound
        if self.operator == "!=":
            return candidate != bound
        if self.operator == ">=":
            return candidate >= bound
        if self.operator == "<=":
            return candidate <= bound
        if self.operator == ">":
            return candidate > bound
        if self.operator == "<":
            return candidate < bound
        # "~=": at least the bound and the same release prefix minus the last component.
        prefix = bound.release[:-1]
        return candidate >= bound and candidate.padded(len(prefix))[: len(prefix)] == prefix

    def __str__(self) -> str:
        return f"{self.operator}{self.version}"


@dataclass(frozen=True)
class SpecifierSet:
    """Comma-separated clauses that must all hold."""

    specifiers: tuple[Specifier, ...]

    @classmethod
    def parse(cls, text: str) -> SpecifierSet:
        """Parse e.g. ``>=0.1.0,<0.2``; an empty string admits every version."""
        parts = [part for part in text.split(",") if part.strip()]
        return cls(tuple(Specifier.parse(part) for part in parts))

    def admits(self, candidate: Version) -> bool:
        """Whether ``candidate`` satisfies every clause."""
        return all(spec.admits(candidate) for spec in self.specifiers)

    def __str__(self) -> str:
        return ",".join(str(spec) for spec in self.specifiers)


def _pad_text(version: Version, length: int) -> str:
    return str(Version(version.padded(length)))


def _upper_bound_text(old: str, boundary: Version) -> str:
    # Keep the old bound's style: "<0.2" -> "<2" (minimal), "<0.2.0" -> "<2.0.0" (padded).
    written = Version.parse(old)
    if len(written.release) > len(written.minimal().release):
        return _pad_text(boundary, len(written.release))
    return str(boundary)


def widen(specifiers: SpecifierSet, new: Version) -> SpecifierSet:
    """Move every bound so that ``new`` is admitted, keeping the shape of each clause.

    Lower bounds become ``>=new``; upper bounds become ``<`` the next breaking boundary
    (next minor for 0.x, next major from 1.0), zero-padded only if the old bound was.
    """
    boundary = breaking_boundary(new)
    widened: list[Specifier] = []
    for spec in specifiers.specifiers:
        operator = spec.operator
        if operator in (">=", ">"):
            widened.append(Specifier(">=", str(new)))
        elif operator in ("<", "<="):
            widened.append(Specifier("<", _upper_bound_text(spec.version, boundary)))
        elif operator == "~=":
            # ~=0.2.0 admits <0.3 and ~=2.0 admits <3: the breaking boundary again.
            if new.padded(1)[0] == 0:
                widened.append(Specifier("~=", _pad_text(new, 3)))
            else:
                widened.append(Specifier("~=", str(Version(new.padded(2)[:2]))))
        elif operator == "==" and spec.is_wildcard:
            length = len(spec.version[:-2].split("."))
            widened.append(Specifier("==", str(Version(new.padded(length)[:length])) + ".*"))
        elif operator in ("==", "==="):
            widened.append(Specifier(operator, str(new)))
        elif spec.admits(new):
            widened.append(spec)
        # An exclusion ("!=") of the new version itself is dropped: the release supersedes it.
    result = SpecifierSet(tuple(widened))
    if not result.admits(new):
        raise VersionError(f"cannot widen {specifiers} to admit {new}")
    return result


_NAME_RE = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*")


def normalize_name(name: str) -> str:
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(text: str) -> str | None:
    """Normalised project name of a requirement string, or None if it has none."""
    match = _NAME_RE.match(text)
    return normalize_name(match.group(1)) if match else None


@dataclass(frozen=True)
class Requirement:
    """A PEP 508 requirement string with the position of its version clauses."""

    text: str
    name: str
    specifiers: SpecifierSet
    spec_start: int
    spec_end: int

    @classmethod
    def parse(cls, text: str) -> Requirement:
        """Parse ``name[extras] specifiers ; marker`` (URL requirements have no clauses)."""
        match = _NAME_RE.match(text)
        if not match:
            raise VersionError(f"cannot parse requirement {text!r}")
        start = match.end()
        end = len(text)
        for separator in (";", "@"):
            position = text.find(separator, start)
            if position != -1:
                end = min(end, position)
        spec_text = text[start:end]
        # Keep the whitespace around the clauses outside the replaced span.
        stripped = spec_text.strip()
        spec_start = start + (len(spec_text) - len(spec_text.lstrip()))
        spec_end = spec_start + len(stripped)
        inner = stripped
        if inner.startswith("(") and inner.endswith(")"):
            inner = inner[1:-1]
            spec_start += 1
            spec_end -= 1
        if text.find("@", start) != -1 and not inner:
            return cls(text, match.group(1), SpecifierSet(()), spec_start, spec_end)
        return cls(text, match.group(1), SpecifierSet.parse(inner), spec_start, spec_end)

    @property
    def normalized_name(self) -> str:
        """PEP 503 normalised name of the required project."""
        return normalize_name(self.name)

    def with_specifiers(self, specifiers: SpecifierSet) -> Requirement:
        """The same requirement (extras, marker, spacing) with other version clauses."""
        new_spec = str(specifiers)
        text = self.text[: self.spec_start] + new_spec + self.text[self.spec_end :]
        return Requirement(
            text, self.name, specifiers, self.spec_start, self.spec_start + len(new_spec)
        )
