"""Changeset file parsing, validation (with file and line) and writing."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from agentfold_changeset.changeset_file import (
    ChangesetError,
    parse_changeset,
    read_changesets,
    render_changeset,
    write_changeset,
)
from agentfold_changeset.versioning import Bump
from agentfold_changeset.workspace import load_workspace

Cli = Callable[..., tuple[int, str, str]]
WriteChangeset = Callable[[str, str], Path]


def test_render_matches_the_javascript_format() -> None:
    text = render_changeset(
        [("agentfold-core", Bump.MINOR), ("agentfold-api", Bump.PATCH)], "Summary text.\n"
    )
    assert text == ('---\n"agentfold-core": minor\n"agentfold-api": patch\n---\n\nSummary text.\n')


def test_parse_round_trip(root: Path) -> None:
    workspace = load_workspace(root)
    text = render_changeset([("agentfold-core", Bump.MAJOR)], "Line one.\n\nLine two.")
    changeset, problems = parse_changeset(text, root / "x.md", "changesets/x.md", workspace)
    assert problems == []
    assert changeset is not None
    assert [(r.package, r.bump, r.line) for r in changeset.releases] == [
        ("agentfold-core", Bump.MAJOR, 2)
    ]
    assert changeset.summary == "Line one.\n\nLine two."


def test_unquoted_and_normalised_names_are_accepted(root: Path) -> None:
    workspace = load_workspace(root)
    text = "---\nagentfold_core: patch\n---\n\nFix.\n"
    changeset, problems = parse_changeset(text, root / "x.md", "changesets/x.md", workspace)
    assert problems == []
    assert changeset is not None
    assert changeset.releases[0].package == "agentfold-core"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '"agentfold-core": minor\n---\n\nNo opening fence.\n',
            "changesets/bad.md:1: missing front matter",
        ),
        (
            '---\n"agentfold-core": minor\n\nNever closed.\n',
            "changesets/bad.md:1: front matter is not closed",
        ),
        (
            '---\n"agentfold-core": minor\n"agentfold-api" patch\n---\n\nBroken YAML.\n',
            "changesets/bad.md:3: invalid YAML in front matter",
        ),
        (
            "---\n- agentfold-core\n---\n\nA list.\n",
            "changesets/bad.md:2: front matter must map package names to bump types",
        ),
        (
            '---\n"agentfold-core": minor\n"agentfold-cor": patch\n---\n\nTypo.\n',
            'changesets/bad.md:3: unknown package "agentfold-cor" (did you mean "agentfold-core"?)',
        ),
        (
            '---\n"agentfold-api": patch\n"agentfold-core": mjor\n---\n\nTypo.\n',
            'changesets/bad.md:3: unknown bump type "mjor" for "agentfold-core" '
            "(expected major, minor or patch)",
        ),
        (
            '---\n"agentfold-core": Minor\n---\n\nCapitalised.\n',
            'changesets/bad.md:2: unknown bump type "Minor"',
        ),
        (
            '---\n"agentfold-core":\n---\n\nMissing bump.\n',
            'changesets/bad.md:2: missing bump type for "agentfold-core"',
        ),
        (
            '---\n"agentfold-core": minor\n"agentfold-core": patch\n---\n\nTwice.\n',
            'changesets/bad.md:3: package "agentfold-core" is listed twice (first on line 2)',
        ),
        (
            '---\n"agentfold-changeset": patch\n---\n\nIgnored.\n',
            'changesets/bad.md:2: package "agentfold-changeset" is not released',
        ),
        (
            '---\n"agentfold-core": patch\n---\n\n',
            "changesets/bad.md:3: missing summary",
        ),
    ],
)
def test_check_reports_file_and_line(
    cli: Cli, changeset: WriteChangeset, text: str, expected: str
) -> None:
    changeset("good", '---\n"agentfold-core": patch\n---\n\nFine.\n')
    changeset("bad", text)
    code, out, err = cli("check", "--no-schema")
    assert code == 1
    assert expected in err
    assert "changesets/good.md" not in err
    assert "1 problem found" in err or "problems found" in err
    assert out == ""


def test_readme_and_empty_changesets_are_fine(root: Path, changeset: WriteChangeset) -> None:
    changeset("empty", "---\n---\n")
    changesets, problems = read_changesets(load_workspace(root))
    assert problems == []
    assert [c.display_path for c in changesets] == ["changesets/empty.md"]
    assert changesets[0].releases == ()


def test_check_passes_for_valid_changesets(cli: Cli, changeset: WriteChangeset) -> None:
    changeset("one", '---\n"agentfold-core": minor\n"agentfold-api": patch\n---\n\nOk.\n')
    code, out, err = cli("check", "--no-schema")
    assert (code, err) == (0, "")
    assert "1 changeset valid." in out


def test_write_changeset_uses_a_unique_three_word_name(root: Path) -> None:
    workspace = load_workspace(root)
    rng = random.Random(7)  # noqa: S311 - seeded for a reproducible name, not a secret
    first = write_changeset(workspace, [("agentfold-core", Bump.PATCH)], "One.", rng)
    rng = random.Random(7)  # noqa: S311 - same seed: the first candidate name is taken now
    second = write_changeset(workspace, [("agentfold-core", Bump.PATCH)], "Two.", rng)
    assert first != second
    for path in (first, second):
        assert re.fullmatch(r"[a-z]+-[a-z]+-[a-z]+\.md", path.name)
    assert first.read_text(encoding="utf-8").endswith("One.\n")
    assert second.read_text(encoding="utf-8").endswith("Two.\n")


def test_write_changeset_validates_before_writing(root: Path) -> None:
    workspace = load_workspace(root)
    with pytest.raises(ChangesetError, match='unknown package "agentfold-cli"'):
        write_changeset(workspace, [("agentfold-cli", Bump.PATCH)], "Nope.")
    with pytest.raises(ChangesetError, match="summary must not be empty"):
        write_changeset(workspace, [("agentfold-core", Bump.PATCH)], "   ")
    assert sorted(p.name for p in (root / "changesets").iterdir()) == ["README.md"]
