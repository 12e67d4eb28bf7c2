"""Committing: what the capture triggers recorded becomes a commit, inside the same
transaction as the writes.

The write door calls ``commit_unit`` at the end of every manage write transaction:
each branch the transaction touched gets one commit (its parent the branch head, read
under a lock, so commits on one branch serialise and never contain another writer's
rows), and a transaction with no net change makes none. A branch's first commit (a
new project) is its root.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    RowMapping,
    and_,
    bindparam,
    delete,
    insert,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from agentfold_core.db.types import utcnow
from agentfold_core.versioning.rows import VersionedTable, versioned_by_name
from agentfold_core.versioning.tables import (
    SNAPSHOT_EVERY,
    branches,
    changes,
    commits,
    dirty,
    heads,
    images,
    snapshots,
)

DEFAULT_AUTHOR = "agentfold"
_CHUNK = 400
_author: ContextVar[str] = ContextVar("agentfold_author", default=DEFAULT_AUTHOR)

Key = tuple[str, str]  # (table name, row key)


@contextmanager
def authored_by(author: str) -> Any:
    """Commits made inside the block name ``author`` (unless a unit names its own)."""
    token = _author.set(author)
    try:
        yield
    finally:
        _author.reset(token)


def current_author() -> str:
    """The author commits are made by here."""
    return _author.get()


def new_commit_id() -> str:
    """A fresh commit id: 40 hex digits."""
    return os.urandom(20).hex()


@dataclass(frozen=True, slots=True)
class Change:
    """One row's change in a commit: its image hash before and after (None: absent)."""

    table: str
    row_key: str
    before: str | None
    after: str | None


@dataclass(frozen=True, slots=True)
class Branch:
    """Where a commit goes."""

    tenant_id: str
    project_id: str
    name: str

    def where(self, table: Any, column: str = "branch") -> Any:
        """The condition selecting this branch's rows of a version-control table."""
        return and_(
            table.c.tenant_id == self.tenant_id,
            table.c.project_id == self.project_id,
            table.c[column] == self.name,
        )

    def project(self, table: Any) -> Any:
        """The condition selecting this project's rows of a version-control table."""
        return and_(table.c.tenant_id == self.tenant_id, table.c.project_id == self.project_id)


# --------------------------------------------------------------------------- reading state


async def dirty_keys(conn: AsyncConnection, branch: Branch) -> list[Key]:
    """Keys written on the branch since its last commit."""
    stmt = select(dirty.c.table_name, dirty.c.row_key).where(branch.where(dirty))
    return [(str(t), str(k)) for t, k in (await conn.execute(stmt)).all()]


async def head_hashes(
    conn: AsyncConnection, branch: Branch, keys: Sequence[Key] | None = None
) -> dict[Key, str]:
    """The branch's head manifest (for ``keys`` only, when given)."""
    base = select(heads.c.table_name, heads.c.row_key, heads.c.row_hash).where(branch.where(heads))
    if keys is None:
        rows = (await conn.execute(base)).all()
        return {(str(t), str(k)): str(h) for t, k, h in rows}
    found: dict[Key, str] = {}
    for chunk in _chunks(keys):
        stmt = base.where(tuple_(heads.c.table_name, heads.c.row_key).in_(chunk))
        for t, k, h in (await conn.execute(stmt)).all():
            found[(str(t), str(k))] = str(h)
    return found


async def working_images(
    conn: AsyncConnection, branch: Branch, keys: Sequence[Key] | None = None
) -> dict[Key, tuple[str, str]]:
    """``{key: (hash, image)}`` of the branch's working rows (for ``keys`` only)."""
    by_table: dict[str, list[str]] = defaultdict(list)
    if keys is not None:
        for table, row_key in keys:
            by_table[table].append(row_key)
    out: dict[Key, tuple[str, str]] = {}
    for name, versioned in versioned_by_name().items():
        wanted = by_table.get(name) if keys is not None else None
        if keys is not None and not wanted:
            continue
        for row in await _rows(conn, versioned, branch, wanted):
            out[(name, versioned.row_key(row))] = versioned.image(row)
    return out


async def _rows(
    conn: AsyncConnection, versioned: VersionedTable, branch: Branch, row_keys: list[str] | None
) -> list[RowMapping]:
    table = versioned.table
    scope = and_(
        table.c.tenant_id == branch.tenant_id,
        table.c[versioned.project_column] == branch.project_id,
        table.c.branch == branch.name,
    )
    stmt = select(table).where(scope)
    if row_keys is None:
        return list((await conn.execute(stmt)).mappings().all())
    columns = [table.c[c] for c in versioned.key_columns]
    rows: list[RowMapping] = []
    for chunk in _chunks(row_keys):
        values = [tuple(versioned.key_values(k)[c] for c in versioned.key_columns) for k in chunk]
        if len(columns) == 1:
            condition = columns[0].in_([v[0] for v in values])
        else:
            condition = tuple_(*columns).in_(values)
        rows += (await conn.execute(stmt.where(condition))).mappings().all()
    return rows


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


async def uncommitted(conn: AsyncConnection, branch: Branch) -> list[Change]:
    """The branch's working changes against its head (the dirty keys that differ)."""
    keys = await dirty_keys(conn, branch)
    if not keys:
        return []
    before = await head_hashes(conn, branch, keys)
    after = await working_images(conn, branch, keys)
    found = []
    for key in sorted(set(keys)):
        old, new = before.get(key), after.get(key, (None, ""))[0]
        if old != new:
            found.append(Change(key[0], key[1], old, new))
    return found


# --------------------------------------------------------------------------- writing state


def _insert_ignoring(conn: AsyncConnection, table: Any) -> Any:
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing()


async def lock_branch(conn: AsyncConnection, branch: Branch) -> str | None:
    """The branch head, locked until the transaction ends (None: no such branch)."""
    stmt = select(branches.c.head).where(branch.where(branches))
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return (await conn.execute(stmt)).scalar_one_or_none()


async def store_images(conn: AsyncConnection, branch: Branch, found: Mapping[str, str]) -> None:
    """Store row images once per project (content-addressed)."""
    if not found:
        return
    rows = [
        {"tenant_id": branch.tenant_id, "project_id": branch.project_id, "hash": h, "data": d}
        for h, d in found.items()
    ]
    await conn.execute(_insert_ignoring(conn, images), rows)


async def set_heads(conn: AsyncConnection, branch: Branch, moved: Sequence[Change]) -> None:
    """Move the branch's head manifest by ``moved`` (before -> after per key)."""
    gone = [{"t": c.table, "k": c.row_key} for c in moved if c.after is None]
    if gone:
        await conn.execute(
            delete(heads).where(
                branch.where(heads),
                heads.c.table_name == bindparam("t"),
                heads.c.row_key == bindparam("k"),
            ),
            gone,
        )
    changed = [{"t": c.table, "k": c.row_key, "h": c.after} for c in moved if c.after and c.before]
    if changed:
        await conn.execute(
            update(heads)
            .where(
                branch.where(heads),
                heads.c.table_name == bindparam("t"),
                heads.c.row_key == bindparam("k"),
            )
            .values(row_hash=bindparam("h")),
            changed,
        )
    added = [
        {
            "tenant_id": branch.tenant_id,
            "project_id": branch.project_id,
            "branch": branch.name,
            "table_name": c.table,
            "row_key": c.row_key,
            "row_hash": c.after,
        }
        for c in moved
        if c.after and not c.before
    ]
    if added:
        await conn.execute(insert(heads), added)


async def clear_dirty(conn: AsyncConnection, branch: Branch, keys: Sequence[Key]) -> None:
    """Forget the recorded keys (the ones this transaction saw, not newer ones)."""
    if keys:
        await conn.execute(
            delete(dirty).where(
                branch.where(dirty),
                dirty.c.table_name == bindparam("t"),
                dirty.c.row_key == bindparam("k"),
            ),
            [{"t": t, "k": k} for t, k in keys],
        )


async def write_commit(
    conn: AsyncConnection,
    branch: Branch,
    *,
    parent: str | None,
    merge_parent: str | None = None,
    moved: Sequence[Change],
    message: str,
    author: str,
) -> str:
    """Record a commit of ``moved`` on top of ``parent`` and make it the branch head.

    The caller has written the working rows and stored their images; this writes the
    commit, its changes, the head manifest, a snapshot when due, and the branch row.
    """
    generation, depth = 0, 0
    if parent is not None:
        row = (
            await conn.execute(
                select(commits.c.generation, commits.c.depth).where(
                    branch.project(commits), commits.c.id == parent
                )
            )
        ).one()
        generation, depth = int(row[0]) + 1, int(row[1]) + 1
    if merge_parent is not None:
        other = (
            await conn.execute(
                select(commits.c.generation).where(
                    branch.project(commits), commits.c.id == merge_parent
                )
            )
        ).scalar_one()
        generation = max(generation, int(other) + 1)
    commit_id = new_commit_id()
    snapshot = depth > 0 and depth % SNAPSHOT_EVERY == 0
    await conn.execute(
        insert(commits).values(
            tenant_id=branch.tenant_id,
            project_id=branch.project_id,
            id=commit_id,
            parent_id=parent,
            merge_parent_id=merge_parent,
            generation=generation,
            depth=depth,
            snapshot=snapshot,
            author=author,
            message=message,
            created_at=utcnow(),
        )
    )
    if moved:
        await conn.execute(
            insert(changes),
            [
                {
                    "tenant_id": branch.tenant_id,
                    "project_id": branch.project_id,
                    "commit_id": commit_id,
                    "table_name": c.table,
                    "row_key": c.row_key,
                    "before_hash": c.before,
                    "after_hash": c.after,
                }
                for c in moved
            ],
        )
    if parent is None:
        await conn.execute(
            insert(branches).values(
                tenant_id=branch.tenant_id,
                project_id=branch.project_id,
                branch=branch.name,
                head=commit_id,
                internal=False,
                created_at=utcnow(),
            )
        )
    await set_heads(conn, branch, moved)
    if parent is not None:
        await conn.execute(update(branches).where(branch.where(branches)).values(head=commit_id))
    if snapshot:
        await conn.execute(
            insert(snapshots).from_select(
                ["tenant_id", "project_id", "commit_id", "table_name", "row_key", "row_hash"],
                select(
                    heads.c.tenant_id,
                    heads.c.project_id,
                    literal(commit_id),
                    heads.c.table_name,
                    heads.c.row_key,
                    heads.c.row_hash,
                ).where(branch.where(heads)),
            )
        )
    return commit_id


async def commit_branch(
    conn: AsyncConnection, branch: Branch, *, message: str, author: str
) -> str | None:
    """Commit what changed on ``branch`` since its head; None when nothing did."""
    head = await lock_branch(conn, branch)
    keys = await dirty_keys(conn, branch)
    if not keys:
        return None
    before = await head_hashes(conn, branch, keys) if head is not None else {}
    after = await working_images(conn, branch, keys)
    moved: list[Change] = []
    found: dict[str, str] = {}
    for key in sorted(set(keys)):
        old = before.get(key)
        new_hash, image = after.get(key, (None, ""))
        if old != new_hash:
            moved.append(Change(key[0], key[1], old, new_hash))
            if new_hash is not None:
                found[new_hash] = image
    await clear_dirty(conn, branch, keys)
    if not moved and head is not None:
        return None
    await store_images(conn, branch, found)
    return await write_commit(
        conn, branch, parent=head, moved=moved, message=message, author=author
    )


async def touched_branches(conn: AsyncConnection, tenant_id: str | None) -> list[Branch]:
    """The branches (of the tenant, when known) with recorded changes this transaction
    can see: its own, since every transaction commits or discards what it records."""
    stmt = select(dirty.c.tenant_id, dirty.c.project_id, dirty.c.branch).distinct()
    if tenant_id is not None:
        stmt = stmt.where(dirty.c.tenant_id == tenant_id)
    stmt = stmt.order_by(dirty.c.tenant_id, dirty.c.project_id, dirty.c.branch)
    return [Branch(str(t), str(p), str(b)) for t, p, b in (await conn.execute(stmt)).all()]


async def commit_changes(
    conn: AsyncConnection, tenant_id: str | None, *, message: str | None, author: str | None
) -> list[str]:
    """Commit every branch this transaction changed (of its tenant, when the unit was
    confined to one; every branch it wrote when it ran raw SQL only); the commit ids."""
    made = []
    for branch in await touched_branches(conn, tenant_id):
        commit_id = await commit_branch(
            conn,
            branch,
            message=message or "Update configuration",
            author=author or current_author(),
        )
        if commit_id is not None:
            made.append(commit_id)
    return made
