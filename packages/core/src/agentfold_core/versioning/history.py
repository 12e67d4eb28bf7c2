"""History: refs resolved to commits, and the manifest of any commit.

A ref is a branch, a tag, a commit id (or a unique prefix of at least seven hex
digits), optionally followed by ``~N`` (N first parents back) or ``^`` (one back).
A past commit's manifest is the nearest snapshot on its first-parent chain plus the
latest change of each key along the way, read in two statements.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, and_, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import CTE

from agentfold_core.errors import NotFound
from agentfold_core.versioning.commit import Key
from agentfold_core.versioning.tables import branches, changes, commits, heads, snapshots, tags

MIN_PREFIX = 7
_SUFFIX = re.compile(r"(~\d*|\^)$")
_HEX = re.compile(r"^[0-9a-f]+$")


@dataclass(frozen=True, slots=True)
class Resolved:
    """What a ref names: a commit, and the branch when the ref is a branch's name."""

    commit_id: str
    branch: str | None = None


def _not_found(project_id: str, ref: str) -> NotFound:
    return NotFound(
        f"no ref {ref!r} in project {project_id!r}",
        resource="ref",
        key={"project_id": project_id, "ref": ref},
    )


def split_ref(ref: str) -> tuple[str, int]:
    """``(base, steps)``: ``main~3`` -> ``("main", 3)``, ``v1^^`` -> ``("v1", 2)``."""
    steps = 0
    while (match := _SUFFIX.search(ref)) is not None:
        suffix = match.group(1)
        steps += 1 if suffix in ("^", "~") else int(suffix[1:])
        ref = ref[: match.start()]
    return ref, steps


async def resolve_ref(conn: AsyncConnection, tenant_id: str, project_id: str, ref: str) -> Resolved:
    """The commit ``ref`` names in the project; ``NotFound`` naming the ref otherwise."""
    base, steps = split_ref(ref)
    scope = and_(branches.c.tenant_id == tenant_id, branches.c.project_id == project_id)
    head = (
        await conn.execute(
            select(branches.c.head).where(
                scope, branches.c.branch == base, branches.c.internal.is_(False)
            )
        )
    ).scalar_one_or_none()
    resolved: Resolved | None = None
    if head is not None:
        resolved = Resolved(str(head), base if steps == 0 else None)
    else:
        tagged = (
            await conn.execute(
                select(tags.c.commit_id).where(
                    tags.c.tenant_id == tenant_id,
                    tags.c.project_id == project_id,
                    tags.c.name == base,
                )
            )
        ).scalar_one_or_none()
        if tagged is not None:
            resolved = Resolved(str(tagged))
        elif len(base) >= MIN_PREFIX and _HEX.match(base):
            found = (
                await conn.execute(
                    select(commits.c.id)
                    .where(
                        commits.c.tenant_id == tenant_id,
                        commits.c.project_id == project_id,
                        commits.c.id.startswith(base, autoescape=True),
                    )
                    .limit(2)
                )
            ).all()
            if len(found) == 1:
                resolved = Resolved(str(found[0][0]))
    if resolved is None:
        raise _not_found(project_id, ref)
    if steps == 0:
        return resolved
    back = await _walk_back(conn, tenant_id, project_id, resolved.commit_id, steps)
    if back is None:
        raise _not_found(project_id, ref)
    return Resolved(back)


async def _walk_back(
    conn: AsyncConnection, tenant_id: str, project_id: str, start: str, steps: int
) -> str | None:
    c = commits
    in_project = and_(c.c.tenant_id == tenant_id, c.c.project_id == project_id)
    walk = (
        select(c.c.id, c.c.parent_id, cast(literal(0), Integer).label("step"))
        .where(in_project, c.c.id == start)
        .cte("walk", recursive=True)
    )
    walk = walk.union_all(
        select(c.c.id, c.c.parent_id, cast(walk.c.step + 1, Integer))
        .join(walk, c.c.id == walk.c.parent_id)
        .where(in_project, walk.c.step < steps)
    )
    found = await conn.execute(select(walk.c.id).where(walk.c.step == steps))
    value = found.scalar_one_or_none()
    return None if value is None else str(value)


def snapshot_chain(tenant_id: Any, project_id: Any, commit_id: Any) -> CTE:
    """The first-parent chain from ``commit_id`` back to the nearest snapshot (or the
    root), each commit with ``step`` (0 for ``commit_id``); values or bound
    parameters."""
    c = commits
    c_project = and_(c.c.tenant_id == tenant_id, c.c.project_id == project_id)
    chain = (
        select(c.c.id, c.c.parent_id, c.c.snapshot, cast(literal(0), Integer).label("step"))
        .where(c_project, c.c.id == commit_id)
        .cte("chain", recursive=True)
    )
    return chain.union_all(
        select(c.c.id, c.c.parent_id, c.c.snapshot, cast(chain.c.step + 1, Integer))
        .join(chain, c.c.id == chain.c.parent_id)
        .where(c_project, chain.c.snapshot.is_(False))
    )


async def manifest_at(
    conn: AsyncConnection, tenant_id: str, project_id: str, commit_id: str
) -> dict[Key, str]:
    """``{(table, row key): row hash}`` of the project as of ``commit_id``."""
    in_project = and_(heads.c.tenant_id == tenant_id, heads.c.project_id == project_id)
    branch = (
        await conn.execute(
            select(branches.c.branch)
            .where(
                branches.c.tenant_id == tenant_id,
                branches.c.project_id == project_id,
                branches.c.head == commit_id,
            )
            .limit(1)
        )
    ).scalar_one_or_none()
    if branch is not None:
        # Some branch stands at this commit: its head manifest is the answer.
        rows = await conn.execute(
            select(heads.c.table_name, heads.c.row_key, heads.c.row_hash).where(
                in_project, heads.c.branch == branch
            )
        )
        return {(str(t), str(k)): str(h) for t, k, h in rows.all()}
    chain = snapshot_chain(tenant_id, project_id, commit_id)
    links = (await conn.execute(select(chain.c.id, chain.c.snapshot, chain.c.step))).all()
    if not links:
        raise _not_found(project_id, commit_id)
    manifest: dict[Key, str] = {}
    snapshot = next((str(i) for i, is_snapshot, _ in links if is_snapshot), None)
    if snapshot is not None:
        rows = await conn.execute(
            select(snapshots.c.table_name, snapshots.c.row_key, snapshots.c.row_hash).where(
                snapshots.c.tenant_id == tenant_id,
                snapshots.c.project_id == project_id,
                snapshots.c.commit_id == snapshot,
            )
        )
        manifest = {(str(t), str(k)): str(h) for t, k, h in rows.all()}
    # The latest change of each key after the snapshot (the smallest step back).
    replay = [str(i) for i, is_snapshot, _ in links if not is_snapshot]
    step_of = {str(i): int(s) for i, _, s in links}
    ch = changes
    replayed = await conn.execute(
        select(ch.c.commit_id, ch.c.table_name, ch.c.row_key, ch.c.after_hash).where(
            ch.c.tenant_id == tenant_id,
            ch.c.project_id == project_id,
            ch.c.commit_id.in_(replay),
        )
    )
    latest: dict[Key, tuple[int, str | None]] = {}
    for commit, table, row_key, after in replayed.all():
        key = (str(table), str(row_key))
        step = step_of[str(commit)]
        if key not in latest or step < latest[key][0]:
            latest[key] = (step, None if after is None else str(after))
    for key, (_, after) in latest.items():
        if after is None:
            manifest.pop(key, None)
        else:
            manifest[key] = after
    return manifest


async def count_commits(conn: AsyncConnection, tenant_id: str, project_id: str) -> int:
    """How many commits the project has (all branches)."""
    stmt = select(func.count()).where(
        commits.c.tenant_id == tenant_id, commits.c.project_id == project_id
    )
    return int((await conn.execute(stmt)).scalar_one())
