"""Reading at a tag or a past commit: its rows materialised once under an internal
branch, then read by the very statements that read branches.

An internal branch is named ``~<commit id>``: no branch name may contain ``~``, so no
user can take it. Tags are materialised when they are created, other commits on
first read; the least recently read are evicted beyond ``KEEP_MATERIALISED`` per
project (a tag's copy comes back on its next read).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from agentfold_core.db.types import utcnow
from agentfold_core.versioning.capture import capture_paused
from agentfold_core.versioning.commit import Branch, Key, head_values
from agentfold_core.versioning.history import manifest_at
from agentfold_core.versioning.past_rows import load_images
from agentfold_core.versioning.rows import versioned_by_name, versioned_tables
from agentfold_core.versioning.tables import branches, dirty, heads

KEEP_MATERIALISED = 16
INTERNAL_PREFIX = "~"


def internal_name(commit_id: str) -> str:
    """The internal branch holding a commit's rows."""
    return f"{INTERNAL_PREFIX}{commit_id}"


async def write_manifest(
    conn: AsyncConnection, target: Branch, manifest: dict[Key, str], *, heads_too: bool
) -> None:
    """Write the rows of ``manifest`` (decoded from their images) into the branch
    ``target`` (which holds none), and its head manifest when asked."""
    by_table: dict[str, list[tuple[str, str]]] = {}
    for (table, row_key), row_hash in manifest.items():
        by_table.setdefault(table, []).append((row_key, row_hash))
    data = await load_images(conn, target.tenant_id, target.project_id, manifest.values())
    by_name = versioned_by_name()
    for versioned in versioned_tables():
        entries = by_table.get(versioned.name)
        if not entries:
            continue
        scope: dict[str, Any] = {"tenant_id": target.tenant_id, "branch": target.name}
        scope[versioned.project_column] = target.project_id
        rows = [{**by_name[versioned.name].values(data[h]), **scope} for _, h in entries]
        await conn.execute(insert(versioned.table), rows)
    if heads_too and manifest:
        await conn.execute(
            insert(heads),
            [
                {
                    "tenant_id": target.tenant_id,
                    "project_id": target.project_id,
                    "branch": target.name,
                    "table_name": table,
                    "row_key": row_key,
                    "row_hash": row_hash,
                }
                for (table, row_key), row_hash in manifest.items()
            ],
        )


async def materialise(
    conn: AsyncConnection, tenant_id: str, project_id: str, commit_id: str
) -> str:
    """The internal branch holding ``commit_id``'s rows, made if needed; its name."""
    name = internal_name(commit_id)
    target = Branch(tenant_id, project_id, name)
    found = await conn.execute(select(branches.c.branch).where(target.where(branches)))
    if found.first() is not None:
        await conn.execute(update(branches).where(target.where(branches)).values(read_at=utcnow()))
        return name
    manifest = await manifest_at(conn, tenant_id, project_id, commit_id)
    now = utcnow()
    await conn.execute(
        insert(branches).values(
            tenant_id=tenant_id,
            project_id=project_id,
            branch=name,
            **head_values(tenant_id, project_id, commit_id),
            internal=True,
            created_at=now,
            read_at=now,
        )
    )
    async with capture_paused(conn, target):
        await write_manifest(conn, target, manifest, heads_too=True)
    await _evict(conn, tenant_id, project_id)
    return name


async def _evict(conn: AsyncConnection, tenant_id: str, project_id: str) -> None:
    internal = (
        branches.c.tenant_id == tenant_id,
        branches.c.project_id == project_id,
        branches.c.internal.is_(True),
    )
    count = await conn.execute(select(func.count()).select_from(branches).where(*internal))
    extra = int(count.scalar_one()) - KEEP_MATERIALISED
    if extra <= 0:
        return
    oldest = await conn.execute(
        select(branches.c.branch).where(*internal).order_by(branches.c.read_at).limit(extra)
    )
    for (name,) in oldest.all():
        await drop_branch_rows(conn, Branch(tenant_id, project_id, str(name)))


async def drop_branch_rows(conn: AsyncConnection, branch: Branch, *, cascades: bool = True) -> None:
    """Delete a branch's rows, its branch row and head manifest, and what the deletion
    recorded: through the project row's cascades, or, with ``cascades=False`` (inside a
    migration, where SQLite's foreign keys are off), table by table, children first."""
    doomed = [versioned_by_name()["projects"]] if cascades else list(reversed(versioned_tables()))
    for versioned in doomed:
        in_branch = versioned.in_branch(branch.tenant_id, branch.project_id, branch.name)
        if cascades:
            # The deleted rows need no record: the branch goes with them.
            async with capture_paused(conn, branch):
                await conn.execute(delete(versioned.table).where(in_branch))
        else:
            await conn.execute(delete(versioned.table).where(in_branch))
    for table in (heads, dirty, branches):
        await conn.execute(delete(table).where(branch.where(table)))
