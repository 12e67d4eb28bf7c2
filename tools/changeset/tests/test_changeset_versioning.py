"""Version, specifier and requirement arithmetic."""

from __future__ import annotations

import pytest

from agentfold_changeset.versioning import (
    Bump,
    Requirement,
    SpecifierSet,
    Version,
    VersionError,
    bump_between,
    bump_version,
    widen,
)


@pytest.mark.parametrize(
    ("version", "bump", "expected"),
    [
        ("0.1.0", Bump.PATCH, "0.1.1"),
        ("0.1.0", Bump.MINOR, "0.2.0"),
        ("0.1.0", Bump.MAJOR, "1.0.0"),
        ("0.1.7", Bump.MINOR, "0.2.0"),
        ("1.4.2", Bump.PATCH, "1.4.3"),
        ("1.4.2", Bump.MINOR, "1.5.0"),
        ("1.4.2", Bump.MAJOR, "2.0.0"),
        ("2", Bump.PATCH, "2.0.1"),
    ],
)
def test_bump_version(version: str, bump: Bump, expected: str) -> None:
    assert str(bump_version(Version.parse(version), bump)) == expected


def test_bumps_order_by_severity() -> None:
    assert max(Bump.PATCH, Bump.MAJOR, Bump.MINOR) is Bump.MAJOR
    assert Bump.parse("minor") is Bump.MINOR
    with pytest.raises(VersionError, match="unknown bump type"):
        Bump.parse("huge")


@pytest.mark.parametrize("text", ["1.0rc1", "v1.0", "1.0.0+local", ""])
def test_unsupported_versions_are_rejected(text: str) -> None:
    with pytest.raises(VersionError, match="unsupported version"):
        Version.parse(text)


def test_versions_compare_like_pep440() -> None:
    assert Version.parse("1.0") == Version.parse("1.0.0")
    assert Version.parse("0.10.0") > Version.parse("0.9.3")
    assert bump_between(Version.parse("0.1.0"), Version.parse("0.2.0")) is Bump.MINOR
    assert bump_between(Version.parse("0.1.0"), Version.parse("0.1.0")) is None


@pytest.mark.parametrize(
    ("specifiers", "version", "admitted"),
    [
        (">=0.1.0,<0.2", "0.1.5", True),
        (">=0.1.0,<0.2", "0.2.0", False),
        ("~=0.1.0", "0.1.9", True),
        ("~=0.1.0", "0.2.0", False),
        ("~=1.2", "1.9.0", True),
        ("~=1.2", "2.0.0", False),
        ("==0.1.*", "0.1.4", True),
        ("==0.1.*", "0.2.0", False),
        ("!=0.1.3", "0.1.3", False),
        ("==1.0", "1.0.0", True),
        (">1.0,<=2", "2.0.0", True),
        ("", "9.9.9", True),
    ],
)
def test_specifier_sets_admit(specifiers: str, version: str, admitted: bool) -> None:
    assert SpecifierSet.parse(specifiers).admits(Version.parse(version)) is admitted


@pytest.mark.parametrize(
    ("specifiers", "new", "expected"),
    [
        (">=0.1.0,<0.2", "0.2.0", ">=0.2.0,<0.3"),
        (">=0.1.0,<0.2", "1.0.0", ">=1.0.0,<2"),
        (">=0.1.0,<0.2.0", "0.2.0", ">=0.2.0,<0.3.0"),
        (">=1.0,<2", "2.0.0", ">=2.0.0,<3"),
        (">=1.0,<2.0", "2.0.0", ">=2.0.0,<3.0"),
        ("<0.2", "0.2.0", "<0.3"),
        ("~=0.1.0", "0.2.0", "~=0.2.0"),
        ("~=1.2", "2.0.0", "~=2.0"),
        ("==0.1.0", "0.2.0", "==0.2.0"),
        ("==0.1.*", "0.2.0", "==0.2.*"),
        (">=0.1.0,!=0.2.0,<0.2", "0.2.0", ">=0.2.0,<0.3"),
    ],
)
def test_widen_keeps_the_shape(specifiers: str, new: str, expected: str) -> None:
    widened = widen(SpecifierSet.parse(specifiers), Version.parse(new))
    assert str(widened) == expected
    assert widened.admits(Version.parse(new))


def test_requirement_rewrite_keeps_name_extras_and_marker() -> None:
    requirement = Requirement.parse("agentfold_core[pg] >= 0.1.0, < 0.2 ; python_version >= '3.11'")
    assert requirement.normalized_name == "agentfold-core"
    assert not requirement.specifiers.admits(Version.parse("0.2.0"))
    widened = requirement.with_specifiers(widen(requirement.specifiers, Version.parse("0.2.0")))
    assert widened.text == "agentfold_core[pg] >=0.2.0,<0.3 ; python_version >= '3.11'"


def test_requirement_without_specifiers_admits_everything() -> None:
    requirement = Requirement.parse("agentfold-core")
    assert requirement.specifiers.admits(Version.parse("5.0.0"))
    assert Requirement.parse("agentfold-core @ file:///x").specifiers.specifiers == ()


def test_unsupported_specifier_is_rejected() -> None:
    with pytest.raises(VersionError, match="unsupported"):
        SpecifierSet.parse(">=0.1.0rc1")
