"""A project's history as a whole: forgotten with the project."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncConnection

from agentfold_core.versioning.tables import (
    branches,
    changes,
    commits,
    dirty,
    heads,
    images,
    snapshots,
)


async def forget_project(conn: AsyncConnection, tenant_id: str, project_id: str) -> None:
    """Delete every commit, branch, tag, manifest and image of the project (commits
    cascade to tags), and the keys recorded since its last commits."""
    for table in (heads, branches, changes, snapshots, commits, images, dirty):
        await conn.execute(
            delete(table).where(table.c.tenant_id == tenant_id, table.c.project_id == project_id)
        )
