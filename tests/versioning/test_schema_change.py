"""A migration that adds a column to a versioned table keeps old commits readable and
the branch clean.

The revision is written into a temporary copy of the migrations (as
``tests/migrations/test_revision.py`` does); the application's models are not changed,
so the new column is one the running code does not know (as during a rolling upgrade):
reads at a tag made before the upgrade, at the branch, and new commits work."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from agentfold_core.data_access.manage.agents import (
    create_agent,
    get_agent,
    list_agents,
    update_agent,
)
from agentfold_core.data_access.project_lifecycle import create_project
from agentfold_core.migrations import locate, upgrade
from agentfold_core.scopes import ProjectScope, TenantScope
from agentfold_core.versioning.branches import create_branch, create_tag
from agentfold_core.versioning.diff import diff
from agentfold_core.versioning.operations import log, status
from agentfold_core.versioning.verify import verify
from tests.conftest import Ids
from tests.migrations.conftest import empty
from tests.support.databases import TestDatabases

__all__ = ["empty"]

_REVISION = '''\
"""agents get a color"""

import sqlalchemy as sa
from alembic import op

from agentfold_core.migrations.ops import create_capture_triggers

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # On SQLite adding a column may copy the table: reinstall its capture triggers.
    with op.batch_alter_table("agents") as batch_op:
        batch_op.add_column(
            sa.Column("color", sa.String(16), nullable=True, server_default="blue")
        )
    create_capture_triggers("agents", ("id",))


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch_op:
        batch_op.drop_column("color")
    create_capture_triggers("agents", ("id",))
'''


@pytest.fixture
def scripts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the migration environments standing in for the checkout's."""
    copy = tmp_path / "migrations"
    shutil.copytree(locate.SOURCE_ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(locate.SOURCE_ROOT.parent / "pyproject.toml", tmp_path / "pyproject.toml")
    monkeypatch.setattr(locate, "SOURCE_ROOT", copy)
    return copy


async def _project_at_head(empty: TestDatabases, ids: Ids) -> ProjectScope:
    """Both databases at head (the checkout's), with a new project; its main branch."""
    await upgrade(empty.manage)
    await upgrade(empty.runtime)
    await create_project(empty.manage, empty.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    return ProjectScope(ids.tenant, ids.project)


async def test_an_added_column_keeps_old_commits_readable(
    scripts: Path, empty: TestDatabases, ids: Ids
) -> None:
    manage = empty.manage
    main = await _project_at_head(empty, ids)
    await create_agent(manage)(scopes=main, data={"id": "triage", "name": "Triage", "prompt": "p1"})
    await create_tag(manage)(scopes=main, name="v1")
    await update_agent(manage)(scopes=main, agent_id="triage", data={"prompt": "p2"})

    (scripts / "manage" / "versions" / "0007_agent_color.py").write_text(_REVISION)
    result = await upgrade(manage)
    assert result.to_revisions == ("0007",)
    async with manage.read() as conn:
        colors = await conn.execute(
            text("SELECT DISTINCT color FROM agents WHERE tenant_id = :t"), {"t": ids.tenant}
        )
        assert [c for (c,) in colors.all()] == ["blue"]

    found = await status(manage)(scopes=main)
    assert found.clean, found.changes
    old = await get_agent(manage)(scopes=main.at("v1"), agent_id="triage")
    assert old is not None
    assert old.prompt == "p1"
    assert [a.id for a in (await list_agents(manage)(scopes=main.at("v1"))).data] == ["triage"]
    now = await get_agent(manage)(scopes=main, agent_id="triage")
    assert now is not None
    assert now.prompt == "p2"
    # A commit read on demand (not materialised before the upgrade) reads too.
    back = await get_agent(manage)(scopes=main.at("main~1"), agent_id="triage")
    assert back is not None
    assert back.prompt == "p1"

    # Work goes on: a new commit, a diff across the upgrade, a clean branch.
    await update_agent(manage)(scopes=main, agent_id="triage", data={"prompt": "p3"})
    assert (await status(manage)(scopes=main)).clean
    changed = await diff(manage)(scopes=main, from_ref="v1", to_ref="main")
    [row] = changed.rows
    columns = {c.column: (c.before, c.after) for c in row.columns}
    assert columns["prompt"] == ("p1", "p3")
    # A write made behind the code's back to the new column (raw SQL) is captured, but
    # the column is not in the code's row images: the branch stays clean.
    async with manage.write() as conn:
        await conn.execute(
            text("UPDATE agents SET color = 'red' WHERE tenant_id = :t AND branch = 'main'"),
            {"t": ids.tenant},
        )
    after_raw = await status(manage)(scopes=main)
    assert after_raw.clean, after_raw.changes


_DATA_REVISION = '''\
"""agents' prompts get a suffix"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A data migration over every branch, materialised copies included.
    op.execute(sa.text("UPDATE agents SET prompt = prompt || ' (v2)'"))


def downgrade() -> None:
    pass
'''


async def test_an_upgrade_commits_what_it_changed_and_old_refs_keep_their_rows(
    scripts: Path, empty: TestDatabases, ids: Ids
) -> None:
    manage = empty.manage
    main = await _project_at_head(empty, ids)
    await create_agent(manage)(scopes=main, data={"id": "triage", "name": "Triage", "prompt": "p1"})
    await create_tag(manage)(scopes=main, name="v1")  # materialised now
    await create_branch(manage)(scopes=main, name="draft")
    draft = main.at("draft")
    await create_agent(manage)(scopes=draft, data={"id": "billing", "name": "B", "prompt": "b1"})

    (scripts / "manage" / "versions" / "0007_prompt_suffix.py").write_text(_DATA_REVISION)
    result = await upgrade(manage)
    assert result.to_revisions == ("0007",)
    # One commit per user branch the migration changed; none for the tag's copy.
    assert len(result.commits) == 2

    for scope in (main, draft):
        assert (await status(manage)(scopes=scope)).clean
        assert (await verify(manage)(scopes=scope)).clean
        [entry, *_] = (await log(manage)(scopes=scope)).data
        assert entry.id in result.commits
        assert entry.message == "Upgrade the schema to 0007"
        assert entry.author == "agentfold"
    now = await get_agent(manage)(scopes=main, agent_id="triage")
    assert now is not None
    assert now.prompt == "p1 (v2)"
    # The tag reads its own moment again, not the migration's rewrite of its copy.
    old = await get_agent(manage)(scopes=main.at("v1"), agent_id="triage")
    assert old is not None
    assert old.prompt == "p1"
    changed = await diff(manage)(scopes=main, from_ref="v1", to_ref="main")
    [row] = changed.rows
    assert {c.column: (c.before, c.after) for c in row.columns}["prompt"] == ("p1", "p1 (v2)")


async def test_an_upgrade_that_changes_nothing_makes_no_commit(
    scripts: Path, empty: TestDatabases, ids: Ids
) -> None:
    main = await _project_at_head(empty, ids)
    before = [c.id for c in (await log(empty.manage)(scopes=main)).data]
    (scripts / "manage" / "versions" / "0007_agent_color.py").write_text(_REVISION)
    result = await upgrade(empty.manage)
    assert result.commits == ()
    assert [c.id for c in (await log(empty.manage)(scopes=main)).data] == before
