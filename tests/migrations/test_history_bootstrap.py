"""Migration 0004: rows that predate version control get their history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from agentfold_core.data_access.manage.agents import create_agent, get_agent
from agentfold_core.migrations import upgrade
from agentfold_core.scopes import ProjectScope
from agentfold_core.versioning.operations import log, status
from agentfold_core.versioning.verify import verify
from tests.support.databases import TestDatabases


async def test_rows_that_predate_version_control_get_a_root_commit(empty: TestDatabases) -> None:
    manage = empty.manage
    await upgrade(manage, "0002")
    async with manage.write() as conn:
        await conn.execute(
            text(
                "INSERT INTO projects (tenant_id, id, branch, name, created_at, updated_at) "
                "VALUES ('t', 'p', 'main', 'P', :now, :now)"
            ),
            {"now": "2026-01-01 00:00:00"},
        )
        await conn.execute(
            text(
                "INSERT INTO agents (tenant_id, project_id, branch, id, name, created_at, "
                "updated_at, execution_mode) VALUES ('t', 'p', 'main', 'a', 'A', :now, :now, "
                "'classic')"
            ),
            {"now": "2026-01-01 00:00:00"},
        )
    await upgrade(manage)
    scope = ProjectScope("t", "p")
    history = (await log(manage)(scopes=scope)).data
    assert [(c.parent_id, c.author) for c in history] == [(None, "agentfold migration")]
    await _clean_on(manage, scope)
    assert await get_agent(manage)(scopes=scope, agent_id="a") is not None
    # The next write commits only itself on top of that root.
    await create_agent(manage)(scopes=scope, data={"id": "b", "name": "B"})
    newer = (await log(manage)(scopes=scope)).data
    assert [c.message for c in newer] == ["Create agent b", history[0].message]
    await _clean_on(manage, scope)


async def _clean_on(manage: Any, scope: ProjectScope) -> None:
    found = await status(manage)(scopes=scope)
    assert found.clean, found.changes
    # The root's rows were hashed from the reflected tables: a full re-scan agrees.
    scanned = await verify(manage)(scopes=scope)
    assert scanned.mismatches == []
