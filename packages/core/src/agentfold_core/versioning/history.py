"""History: refs resolved to commits, and the manifest of any commit.

A ref is a branch, a tag, a commit id (or a unique prefix of at least seven hex
digits), optionally followed by ``~N`` (N first parents back) or ``^`` (one back).
A past commit's manifest is the nearest snapshot on its first-parent chain plus the
latest change of each key along the way, read in one statement.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Dialect,
    Integer,
    and_,
    bindparam,
    cast,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import CTE

from agentfold_core.db.prepared import Prepared, prepare, run
from agentfold_core.errors import NotFound
from agentfold_core.versioning.commit import Key
from agentfold_core.versioning.tables import (
    branches,
    changes,
    commits,
    heads,
    images,
    snapshots,
    tags,
)

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
        found = await conn.execute(
            select(heads.c.table_name, heads.c.row_key, heads.c.row_hash).where(
                in_project, heads.c.branch == branch
            )
        )
        return {(str(t), str(k)): str(h) for t, k, h in found.all()}
    # Otherwise the nearest snapshot and the changes since, in one statement.
    values = {"k_tenant": tenant_id, "k_project": project_id, "k_commit": commit_id}
    rows = await run(conn, manifest_entries(conn.dialect, with_images=False), values)
    if not rows:
        known = select(commits.c.id).where(
            commits.c.tenant_id == tenant_id,
            commits.c.project_id == project_id,
            commits.c.id == commit_id,
        )
        if (await conn.execute(known)).first() is None:
            raise _not_found(project_id, commit_id)
    return {key: str(h) for key, h in latest_entries(rows).items() if h is not None}


# A snapshot's entries rank after every change replayed on top of it.
_SNAPSHOT_STEP = 1 << 30


def _in_project(table: Any) -> ColumnElement[bool]:
    return and_(
        table.c.tenant_id == bindparam("k_tenant"), table.c.project_id == bindparam("k_project")
    )


@cache
def manifest_entries(dialect: Dialect, *, with_images: bool) -> Prepared:
    """One statement for a commit's manifest entries: the nearest snapshot's, and the
    changes of every commit after it, each as ``(step back from the commit, table, row
    key, row hash)`` (or the row's image, ``with_images``; NULL: the row is gone).
    The smallest step of a key wins (``latest_entries``)."""
    chain = snapshot_chain(bindparam("k_tenant"), bindparam("k_project"), bindparam("k_commit"))
    ch, snap, im = changes, snapshots, images
    replayed_from: Any = chain.join(ch, and_(_in_project(ch), ch.c.commit_id == chain.c.id))
    snapshot_from: Any = chain.join(snap, and_(_in_project(snap), snap.c.commit_id == chain.c.id))
    replayed_value: Any = ch.c.after_hash
    snapshot_value: Any = snap.c.row_hash
    if with_images:
        replayed_from = replayed_from.outerjoin(
            im, and_(_in_project(im), im.c.hash == ch.c.after_hash)
        )
        snapshot_from = snapshot_from.join(im, and_(_in_project(im), im.c.hash == snap.c.row_hash))
        replayed_value = snapshot_value = im.c.data
    replayed = (
        select(chain.c.step, ch.c.table_name, ch.c.row_key, replayed_value)
        .select_from(replayed_from)
        .where(chain.c.snapshot.is_(False))
    )
    snapshotted = (
        select(literal(_SNAPSHOT_STEP), snap.c.table_name, snap.c.row_key, snapshot_value)
        .select_from(snapshot_from)
        .where(chain.c.snapshot.is_(True))
    )
    return prepare(union_all(replayed, snapshotted), dialect)


def latest_entries(rows: Iterable[Sequence[Any]]) -> dict[Key, Any]:
    """The rows of ``manifest_entries`` reduced to each key's latest value (None: the
    row is gone)."""
    latest: dict[Key, tuple[int, Any]] = {}
    for step, table, row_key, value in rows:
        key = (str(table), str(row_key))
        found = latest.get(key)
        if found is None or step < found[0]:
            latest[key] = (int(step), value)
    return {key: value for key, (_, value) in latest.items()}


async def count_commits(conn: AsyncConnection, tenant_id: str, project_id: str) -> int:
    """How many commits the project has (all branches)."""
    stmt = select(func.count()).where(
        commits.c.tenant_id == tenant_id, commits.c.project_id == project_id
    )
    return int((await conn.execute(stmt)).scalar_one())
