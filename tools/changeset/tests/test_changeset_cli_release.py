"""End-to-end ``add``, ``status`` and ``version`` runs on a temporary workspace."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from agentfold_changeset.cli import main
from agentfold_changeset.release import LockError

Cli = Callable[..., tuple[int, str, str]]
Git = Callable[..., str]
WriteChangeset = Callable[[str, str], Path]


def project(root: Path, package: str) -> dict[str, object]:
    """The parsed ``[project]`` table of ``packages/<package>``."""
    with (root / "packages" / package / "pyproject.toml").open("rb") as handle:
        table = tomllib.load(handle)["project"]
    assert isinstance(table, dict)
    return table


def pending(root: Path) -> list[str]:
    """Names of pending changeset files."""
    return sorted(p.name for p in (root / "changesets").glob("*.md") if p.name != "README.md")


@pytest.mark.parametrize(
    ("bump", "core_next"), [("patch", "0.1.1"), ("minor", "0.2.0"), ("major", "1.0.0")]
)
def test_add_status_version_for_each_bump(
    root: Path, cli: Cli, lock_calls: list[Path], bump: str, core_next: str
) -> None:
    code, out, err = cli("add", f"agentfold-core:{bump}", "-m", f"A {bump} change.")
    assert (code, err) == (0, "")
    [name] = pending(root)
    assert out.startswith(f"Created changesets/{name}")
    assert (root / "changesets" / name).read_text(encoding="utf-8") == (
        f'---\n"agentfold-core": {bump}\n---\n\nA {bump} change.\n'
    )

    code, out, err = cli("status")
    assert (code, err) == (0, "")
    assert f"agentfold-core 0.1.0 -> {core_next} ({bump}): changesets/{name}" in out

    code, out, err = cli("version")
    assert (code, err) == (0, "")
    assert project(root, "core")["version"] == core_next
    assert lock_calls == [root.resolve()]
    assert pending(root) == []
    title = {"patch": "Patch", "minor": "Minor", "major": "Major"}[bump]
    assert (root / "packages/core/CHANGELOG.md").read_text(encoding="utf-8") == (
        f"# agentfold-core\n\n## {core_next}\n\n### {title} Changes\n\n- A {bump} change.\n"
    )


def test_add_several_packages_and_paragraphs(root: Path, cli: Cli) -> None:
    code, _, _ = cli(
        "add", "agentfold-core:minor", "agentfold-api:patch", "-m", "First.", "-m", "Second."
    )
    assert code == 0
    [name] = pending(root)
    assert (root / "changesets" / name).read_text(encoding="utf-8") == (
        '---\n"agentfold-core": minor\n"agentfold-api": patch\n---\n\nFirst.\n\nSecond.\n'
    )


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("agentfold-cor:minor", 'unknown package "agentfold-cor"'),
        ("agentfold-core:huge", 'unknown bump type "huge" for "agentfold-core"'),
        ("agentfold-core", "expected PACKAGE:BUMP"),
        ("agentfold-changeset:patch", "is not released"),
    ],
)
def test_add_validates_before_writing(root: Path, cli: Cli, argument: str, message: str) -> None:
    code, out, err = cli("add", argument, "-m", "Summary.")
    assert code == 1
    assert message in err
    assert out == ""
    assert pending(root) == []


def test_major_core_bump_bumps_api_and_widens_its_requirement(
    root: Path, cli: Cli, changeset: WriteChangeset
) -> None:
    changeset("core-major", '---\n"agentfold-core": major\n---\n\nNew storage layout.\n')
    code, out, _ = cli("status", "--json")
    assert code == 0
    plan = json.loads(out)
    api = next(p for p in plan["packages"] if p["name"] == "agentfold-api")
    assert (api["current"], api["next"], api["bump"]) == ("0.1.0", "0.1.1", "patch")
    assert api["changesets"] == []
    assert api["dependency_updates"] == [{"name": "agentfold-core", "version": "1.0.0"}]
    assert api["requirement_changes"] == [
        {"old": "agentfold-core>=0.1.0,<0.2", "new": "agentfold-core>=1.0.0,<2"}
    ]
    code, out, _ = cli("status")
    assert code == 0
    assert "agentfold-api 0.1.0 -> 0.1.1 (patch): dependency bump (agentfold-core@1.0.0)" in out

    assert cli("version", "--no-lock")[0] == 0
    assert project(root, "core")["version"] == "1.0.0"
    assert project(root, "api")["version"] == "0.1.1"
    assert project(root, "api")["dependencies"] == [
        "agentfold-core>=1.0.0,<2",
        "litestar>=2.25,<3",
    ]
    assert (root / "packages/api/CHANGELOG.md").read_text(encoding="utf-8") == (
        "# agentfold-api\n\n## 0.1.1\n\n### Patch Changes\n\n"
        "- Updated dependencies: agentfold-core@1.0.0\n"
    )


def test_minor_core_bump_widens_to_next_minor_and_keeps_larger_api_bump(
    root: Path, cli: Cli, changeset: WriteChangeset
) -> None:
    changeset("a", '---\n"agentfold-core": minor\n"agentfold-api": minor\n---\n\nAgents.\n')
    assert cli("version", "--no-lock")[0] == 0
    api = project(root, "api")
    assert api["version"] == "0.2.0"
    assert api["dependencies"] == ["agentfold-core>=0.2.0,<0.3", "litestar>=2.25,<3"]
    assert (root / "packages/api/CHANGELOG.md").read_text(encoding="utf-8") == (
        "# agentfold-api\n\n## 0.2.0\n\n### Minor Changes\n\n- Agents.\n\n"
        "### Patch Changes\n\n- Updated dependencies: agentfold-core@0.2.0\n"
    )


def test_patch_core_bump_within_range_leaves_api_alone(
    root: Path, cli: Cli, changeset: WriteChangeset
) -> None:
    api_before = (root / "packages/api/pyproject.toml").read_text(encoding="utf-8")
    changeset("fix", '---\n"agentfold-core": patch\n---\n\nFix a query.\n')
    code, out, _ = cli("status")
    assert code == 0
    assert "agentfold-api 0.1.0: no release" in out
    assert cli("version", "--no-lock")[0] == 0
    assert project(root, "core")["version"] == "0.1.1"
    assert (root / "packages/api/pyproject.toml").read_text(encoding="utf-8") == api_before
    assert not (root / "packages/api/CHANGELOG.md").exists()


def test_highest_bump_wins_and_sections_are_ordered(
    root: Path, cli: Cli, changeset: WriteChangeset
) -> None:
    changeset("a-fix", '---\n"agentfold-core": patch\n---\n\nFix one.\n')
    changeset("b-feature", '---\n"agentfold-core": minor\n---\n\nFeature\nover two lines.\n')
    changeset("c-break", '---\n"agentfold-core": major\n---\n\nBreak.\n')
    assert cli("version", "--no-lock")[0] == 0
    assert project(root, "core")["version"] == "1.0.0"
    assert (root / "packages/core/CHANGELOG.md").read_text(encoding="utf-8") == (
        "# agentfold-core\n\n## 1.0.0\n\n"
        "### Major Changes\n\n- Break.\n\n"
        "### Minor Changes\n\n- Feature\n  over two lines.\n\n"
        "### Patch Changes\n\n- Fix one.\n"
    )


def test_two_successive_versions_prepend_changelog_sections(
    root: Path, cli: Cli, changeset: WriteChangeset
) -> None:
    changeset("first", '---\n"agentfold-core": minor\n---\n\nFirst feature.\n')
    assert cli("version", "--no-lock")[0] == 0
    changeset("second", '---\n"agentfold-core": patch\n---\n\nSecond fix.\n')
    assert cli("version", "--no-lock")[0] == 0
    assert project(root, "core")["version"] == "0.2.1"
    assert (root / "packages/core/CHANGELOG.md").read_text(encoding="utf-8") == (
        "# agentfold-core\n\n"
        "## 0.2.1\n\n### Patch Changes\n\n- Second fix.\n\n"
        "## 0.2.0\n\n### Minor Changes\n\n- First feature.\n"
    )


def test_existing_changelog_keeps_title_and_intro(
    root: Path, cli: Cli, changeset: WriteChangeset
) -> None:
    changelog = root / "packages/core/CHANGELOG.md"
    changelog.write_text(
        "# agentfold-core\n\nAll notable changes.\n\n## 0.1.0\n\n- Initial release.\n",
        encoding="utf-8",
    )
    changeset("x", '---\n"agentfold-core": patch\n---\n\nFix.\n')
    assert cli("version", "--no-lock")[0] == 0
    assert changelog.read_text(encoding="utf-8") == (
        "# agentfold-core\n\nAll notable changes.\n\n"
        "## 0.1.1\n\n### Patch Changes\n\n- Fix.\n\n"
        "## 0.1.0\n\n- Initial release.\n"
    )


def test_version_preserves_pyproject_formatting_and_comments(
    root: Path, cli: Cli, changeset: WriteChangeset
) -> None:
    core = root / "packages/core/pyproject.toml"
    api = root / "packages/api/pyproject.toml"
    core_before = core.read_text(encoding="utf-8")
    api_before = api.read_text(encoding="utf-8")
    changeset("x", '---\n"agentfold-core": minor\n---\n\nFeature.\n')
    assert cli("version", "--no-lock")[0] == 0
    assert core.read_text(encoding="utf-8") == core_before.replace(
        'version = "0.1.0"  # bumped', 'version = "0.2.0"  # bumped'
    )
    assert api.read_text(encoding="utf-8") == api_before.replace(
        'version = "0.1.0"', 'version = "0.1.1"'
    ).replace('"agentfold-core>=0.1.0,<0.2",', '"agentfold-core>=0.2.0,<0.3",')


def test_version_without_changesets_is_a_no_op(root: Path, cli: Cli) -> None:
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    code, out, err = cli("version")
    assert (code, out, err) == (0, "No changesets found; nothing to version.\n", "")
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


def test_version_refuses_invalid_changesets(
    root: Path, cli: Cli, changeset: WriteChangeset
) -> None:
    changeset("bad", '---\n"agentfold-core": mega\n---\n\nNo.\n')
    code, _, err = cli("version", "--no-lock")
    assert code == 1
    assert 'changesets/bad.md:2: unknown bump type "mega"' in err
    assert project(root, "core")["version"] == "0.1.0"
    assert pending(root) == ["bad.md"]


def test_no_lock_skips_the_lock_runner(
    cli: Cli, changeset: WriteChangeset, lock_calls: list[Path]
) -> None:
    changeset("x", '---\n"agentfold-core": patch\n---\n\nFix.\n')
    code, out, _ = cli("version", "--no-lock")
    assert code == 0
    assert lock_calls == []
    assert "Skipped refreshing uv.lock" in out


def test_lock_failure_keeps_version_edits(
    root: Path, changeset: WriteChangeset, capsys: pytest.CaptureFixture[str]
) -> None:
    def failing_lock(_: Path) -> None:
        raise LockError("uv is not installed or not on PATH")

    changeset("x", '---\n"agentfold-core": patch\n---\n\nFix.\n')
    code = main(["--root", str(root), "version"], lock_runner=failing_lock)
    err = capsys.readouterr().err
    assert code == 1
    assert "refreshing uv.lock failed: uv is not installed or not on PATH" in err
    assert project(root, "core")["version"] == "0.1.1"
    assert pending(root) == []


def test_status_since_fails_for_changed_package_without_changeset(
    root: Path, cli: Cli, committed: Git, changeset: WriteChangeset
) -> None:
    committed("checkout", "--quiet", "-b", "feature")
    (root / "packages/api/src/agentfold_api/routes.py").write_text("ROUTES = []\n")
    committed("add", "-A")
    committed("commit", "--quiet", "-m", "routes")
    (root / "packages/core/src/agentfold_core/models.py").write_text("MODELS = []\n")

    code, _, err = cli("status", "--since", "main")
    assert code == 1
    assert "packages changed since main have no changeset" in err
    assert "agentfold-api (packages/api)" in err
    assert "packages/api/src/agentfold_api/routes.py" in err
    assert "agentfold-core (packages/core)" in err  # untracked files count too
    assert "packages/core/src/agentfold_core/models.py" in err

    changeset("api", '---\n"agentfold-api": patch\n---\n\nRoutes.\n')
    code, out, err = cli("status", "--since", "main", "--json")
    assert code == 1
    assert json.loads(out)["since"]["missing_changesets"] == [
        {"name": "agentfold-core", "files": ["packages/core/src/agentfold_core/models.py"]}
    ]
    assert "agentfold-api (packages/api)" not in err

    changeset("core", '---\n"agentfold-core": minor\n---\n\nModels.\n')
    code, out, err = cli("status", "--since", "main")
    assert (code, err) == (0, "")


def test_status_since_ignores_files_outside_packages(root: Path, cli: Cli, committed: Git) -> None:
    (root / "README.md").write_text("# Workspace\n")
    (root / "tools/changeset/notes.txt").write_text("ignored tool\n")
    code, out, err = cli("status", "--since", "HEAD")
    assert (code, err) == (0, "")
    assert "No changesets found." in out


def test_status_rejects_an_unknown_revision(cli: Cli, committed: Git) -> None:
    code, _, err = cli("status", "--since", "no-such-branch")
    assert code == 1
    assert "no-such-branch" in err
