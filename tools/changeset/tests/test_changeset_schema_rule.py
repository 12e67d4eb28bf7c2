"""The schema rule: AST analysis of Alembic revisions and the bump it requires."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from agentfold_changeset.schema_rule import analyse_revision, is_revision_path
from agentfold_changeset.versioning import Bump

Cli = Callable[..., tuple[int, str, str]]
Git = Callable[..., str]
WriteChangeset = Callable[[str, str], Path]

MANAGE = "packages/core/src/agentfold_core/migrations/manage/versions"
RUNTIME = "migrations/runtime/versions"

HEADER = '''\
"""Revision."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

'''

ADD_TABLE = (
    HEADER
    + """\
def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("agents")
"""
)

OPTIONAL_COLUMN = (
    HEADER
    + """\
def upgrade() -> None:
    op.add_column("agents", sa.Column("note", sa.String(), nullable=True))
    op.add_column(
        "agents", sa.Column("state", sa.String(), nullable=False, server_default="idle")
    )
    op.create_index(op.f("ix_agents_state"), "agents", ["state"])


def downgrade() -> None:
    op.drop_column("agents", "note")
"""
)

REQUIRED_COLUMN = (
    HEADER
    + """\
def upgrade() -> None:
    with op.batch_alter_table("runs") as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch_op:
        batch_op.drop_column("owner")
"""
)


def write(root: Path, relative: str, text: str) -> None:
    """Write a file below the workspace root."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_analyse_table_and_columns() -> None:
    findings = analyse_revision(ADD_TABLE, "v.py")
    assert [(f.line, f.description, f.bump) for f in findings] == [
        (10, 'adds table "agents"', Bump.MINOR)
    ]
    findings = analyse_revision(OPTIONAL_COLUMN, "v.py")
    assert [(f.description, f.bump) for f in findings] == [
        ('adds optional column "note" to table "agents"', Bump.PATCH),
        ('adds optional column "state" to table "agents"', Bump.PATCH),
        ('adds index "ix_agents_state" on table "agents"', Bump.PATCH),
    ]
    findings = analyse_revision(REQUIRED_COLUMN, "v.py")
    assert [(f.line, f.description, f.bump) for f in findings] == [
        (11, 'adds required column "owner" to table "runs"', Bump.MINOR)
    ]


def test_analyse_ignores_downgrade_other_calls_and_non_alembic_code() -> None:
    source = HEADER + textwrap.dedent(
        """\
        TABLE = "create_table('x')"


        def helper() -> None:
            op.create_table("not_in_upgrade")


        def upgrade() -> None:
            op.execute("CREATE TABLE raw (id int)")
            op.alter_column("agents", "name", nullable=False)
            other.create_table("unrelated")
            with op.batch_alter_table("runs") as batch_op:
                batch_op.create_index("ix_runs_owner", ["owner"])
                batch_op.drop_column("old")


        def downgrade() -> None:
            op.create_table("agents")
        """
    )
    findings = analyse_revision(source, "v.py")
    assert [(f.description, f.bump) for f in findings] == [
        ('adds index "ix_runs_owner" on table "runs"', Bump.PATCH)
    ]


def test_revision_paths_match_configured_folders() -> None:
    folders = ("migrations/manage/versions", "migrations/runtime/versions")
    assert is_revision_path("migrations/manage/versions/0002_a.py", folders)
    assert is_revision_path(f"{MANAGE}/0002_a.py", folders)
    assert not is_revision_path("migrations/manage/env.py", folders)
    assert not is_revision_path("migrations/manage/versions/README.md", folders)
    assert not is_revision_path("other_migrations/manage/versions/x.py", folders)


def test_added_table_fails_a_patch_changeset_and_accepts_a_minor_one(
    root: Path, cli: Cli, committed: Git, changeset: WriteChangeset
) -> None:
    write(root, f"{MANAGE}/0002_agents.py", ADD_TABLE)
    changeset("agents", '---\n"agentfold-core": patch\n---\n\nAgents table.\n')
    code, out, err = cli("check")
    assert code == 1
    assert (
        f'{MANAGE}/0002_agents.py:10: adds table "agents" requires at least a minor bump '
        "of agentfold-core, but the pending changesets give patch"
    ) in err
    assert out == ""

    changeset("agents", '---\n"agentfold-core": minor\n---\n\nAgents table.\n')
    code, out, err = cli("check")
    assert (code, err) == (0, "")
    assert "since core-v0.1.0 need minor; agentfold-core gets minor" in out


def test_added_table_without_any_changeset_fails(root: Path, cli: Cli, committed: Git) -> None:
    write(root, f"{RUNTIME}/0002_agents.py", ADD_TABLE)
    committed("add", "-A")
    committed("commit", "--quiet", "-m", "agents")  # committed after the tag: still new
    code, _, err = cli("check")
    assert code == 1
    assert f'{RUNTIME}/0002_agents.py:10: adds table "agents"' in err
    assert "give none" in err


def test_optional_column_needs_only_a_patch(
    root: Path, cli: Cli, committed: Git, changeset: WriteChangeset
) -> None:
    write(root, f"{MANAGE}/0003_note.py", OPTIONAL_COLUMN)
    code, _, err = cli("check")
    assert code == 1
    assert 'adds optional column "note" to table "agents" requires at least a patch' in err
    changeset("note", '---\n"agentfold-core": patch\n---\n\nNote column.\n')
    code, out, err = cli("check")
    assert (code, err) == (0, "")
    assert "need patch" in out


def test_required_column_needs_a_minor(
    root: Path, cli: Cli, committed: Git, changeset: WriteChangeset
) -> None:
    write(root, f"{RUNTIME}/0004_owner.py", REQUIRED_COLUMN)
    changeset("owner", '---\n"agentfold-core": patch\n"agentfold-api": minor\n---\n\nOwner.\n')
    code, _, err = cli("check")
    assert code == 1
    assert (
        f'{RUNTIME}/0004_owner.py:11: adds required column "owner" to table "runs" '
        "requires at least a minor bump of agentfold-core"
    ) in err
    changeset("owner", '---\n"agentfold-core": major\n---\n\nOwner.\n')
    assert cli("check")[0] == 0


def test_revisions_before_the_release_tag_do_not_count(root: Path, cli: Cli, git: Git) -> None:
    write(root, f"{MANAGE}/0002_agents.py", ADD_TABLE)
    git("add", "-A")
    git("commit", "--quiet", "-m", "release")
    git("tag", "core-v0.2.0")
    code, out, err = cli("check")
    assert (code, err) == (0, "")
    assert "no schema additions in 0 new revisions since core-v0.2.0" in out


def test_without_a_release_tag_every_revision_is_new(root: Path, cli: Cli, git: Git) -> None:
    write(root, f"{MANAGE}/0001_initial.py", ADD_TABLE)
    git("add", "-A")
    git("commit", "--quiet", "-m", "initial")
    code, _, err = cli("check")
    assert code == 1
    assert 'adds table "agents"' in err


def test_version_already_raised_since_tag_satisfies_the_rule(
    root: Path, cli: Cli, committed: Git, changeset: WriteChangeset
) -> None:
    write(root, f"{MANAGE}/0002_agents.py", ADD_TABLE)
    changeset("agents", '---\n"agentfold-core": minor\n---\n\nAgents table.\n')
    assert cli("version", "--no-lock")[0] == 0
    code, _, err = cli("check")  # changeset consumed, 0.2.0 not tagged yet
    assert (code, err) == (0, "")


def test_unparsable_revision_is_reported(root: Path, cli: Cli, committed: Git) -> None:
    write(root, f"{MANAGE}/0002_broken.py", "def upgrade(:\n    pass\n")
    code, _, err = cli("check")
    assert code == 1
    assert f"{MANAGE}/0002_broken.py:1: cannot parse revision file" in err


def test_migration_folders_are_configurable(root: Path, cli: Cli, committed: Git) -> None:
    pyproject = root / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text(encoding="utf-8") + 'migrations = ["db/versions"]\n',
        encoding="utf-8",
    )
    write(root, f"{MANAGE}/0002_agents.py", ADD_TABLE)
    write(root, "db/versions/0002_agents.py", ADD_TABLE)
    code, _, err = cli("check")
    assert code == 1
    assert 'db/versions/0002_agents.py:10: adds table "agents"' in err
    assert MANAGE not in err


def test_check_outside_git_fails_clearly(cli: Cli) -> None:
    code, _, err = cli("check")
    assert code == 1
    assert "is not inside a git work tree" in err


@pytest.mark.parametrize(
    "column",
    [
        'sa.Column("c", sa.Integer(), nullable=False, server_default=sa.text("0"))',
        'sa.Column("c", sa.Integer(), nullable=True)',
        'sa.Column("c", sa.Integer())',
    ],
)
def test_column_with_default_or_nullable_is_optional(column: str) -> None:
    source = HEADER + f'def upgrade() -> None:\n    op.add_column("t", {column})\n'
    [finding] = analyse_revision(source, "v.py")
    assert (finding.description, finding.bump) == (
        'adds optional column "c" to table "t"',
        Bump.PATCH,
    )


def test_batch_blocks_reusing_an_alias_attribute_each_index_to_its_table() -> None:
    source = HEADER + textwrap.dedent(
        """\
        def upgrade() -> None:
            with op.batch_alter_table("tools") as batch_op:
                batch_op.create_index("ix_tools_a", ["a"])
            with op.batch_alter_table("skills") as batch_op:
                batch_op.create_index("ix_skills_b", ["b"])
        """
    )
    findings = analyse_revision(source, "v.py")
    assert [f.description for f in findings] == [
        'adds index "ix_tools_a" on table "tools"',
        'adds index "ix_skills_b" on table "skills"',
    ]


def test_a_clone_without_tags_counts_from_the_release_commit(
    root: Path, cli: Cli, git: Git, changeset: WriteChangeset
) -> None:
    # A release (changesets consumed by `version`) that was never tagged, or whose tag
    # did not travel with the clone: revisions before it are released, later ones new.
    write(root, f"{MANAGE}/0001_initial.py", ADD_TABLE)
    changeset("agents", '---\n"agentfold-core": minor\n---\n\nAgents table.\n')
    assert cli("version", "--no-lock")[0] == 0
    git("add", "-A")
    git("commit", "--quiet", "-m", "release")
    code, out, err = cli("check")
    assert (code, err) == (0, "")
    assert "the release commit" in out

    write(root, f"{MANAGE}/0002_more.py", ADD_TABLE.replace('"agents"', '"tools"'))
    git("add", "-A")
    git("commit", "--quiet", "-m", "more")
    code, _, err = cli("check")
    assert code == 1
    assert 'adds table "tools"' in err
    assert 'adds table "agents"' not in err
