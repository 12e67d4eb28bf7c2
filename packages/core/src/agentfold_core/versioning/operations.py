"""Version-control operations, curried like the rest of the data layer:
``await log(manage)(scopes=ProjectScope("acme", "support"))``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import exists, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from agentfold_core.content import ResolvedRef
from agentfold_core.data_access.doors import Db, reading
from agentfold_core.errors import NotFound
from agentfold_core.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, Pagination
from agentfold_core.scopes import DEFAULT_BRANCH, ProjectScope
from agentfold_core.versioning.commit import Branch, Change, uncommitted
from agentfold_core.versioning.history import resolve_ref as _resolve
from agentfold_core.versioning.tables import branches, changes, commits


class CommitInfo(BaseModel):
    """One commit as the log shows it."""

    id: str
    parent_id: str | None
    merge_parent_id: str | None
    author: str
    message: str
    created_at: datetime


class BranchStatus(BaseModel):
    """A branch's head and what its working rows hold that the head does not."""

    branch: str
    head: str
    changes: list[Change]

    @property
    def clean(self) -> bool:
        """Whether the working rows are exactly the head commit."""
        return not self.changes


def _branch(scopes: ProjectScope, name: str) -> Branch:
    return Branch(scopes.tenant_id, scopes.project_id, name)


async def branch_head(conn: AsyncConnection, branch: Branch) -> str:
    """The head commit of a branch; ``NotFound`` naming the branch when there is none."""
    stmt = select(branches.c.head).where(branch.where(branches))
    head = (await conn.execute(stmt)).scalar_one_or_none()
    if head is None:
        raise NotFound(
            f"no branch {branch.name!r} in project {branch.project_id!r}",
            resource="branch",
            key={"project_id": branch.project_id, "branch": branch.name},
        )
    return str(head)


def status(manage: Db) -> Callable[..., Awaitable[BranchStatus]]:
    """Curried: the branch's head and its uncommitted changes (none after any public
    write: every write commits)."""

    async def _status(*, scopes: ProjectScope) -> BranchStatus:
        async with reading(manage, scopes, snapshot=True) as access:
            branch = _branch(scopes, access.target.branch)
            head = await branch_head(access.conn, branch)
            found = await uncommitted(access.conn, branch)
        return BranchStatus(branch=branch.name, head=head, changes=found)

    return _status


def log(manage: Db) -> Callable[..., Awaitable[Page[CommitInfo]]]:
    """Curried: one page of history from ``scopes.ref`` (a branch, tag, commit,
    ``main~2``), newest first.

    ``first_parent`` (the default) follows first parents from the head (a merge shows
    as one commit); otherwise every ancestor through both parents, newest first by
    generation, then time. ``table`` and ``row_key`` (e.g. ``"agents"``, ``"triage"``)
    keep only the commits that changed that row (against their first parent)."""

    async def _log(
        *,
        scopes: ProjectScope,
        page: int = 1,
        limit: int = DEFAULT_LIMIT,
        first_parent: bool = True,
        table: str | None = None,
        row_key: str | None = None,
    ) -> Page[CommitInfo]:
        limit = max(1, min(limit, MAX_LIMIT))
        async with reading(manage, scopes, snapshot=True) as access:
            branch = _branch(scopes, access.target.branch)
            resolved = await _resolve(access.conn, scopes.tenant_id, scopes.project_id, scopes.ref)
            head = resolved.commit_id
            walk = _first_parents if first_parent else _ancestors
            chain = await walk(access.conn, branch, head, table, row_key)
        shown = chain[(page - 1) * limit : page * limit]
        total = len(chain)
        return Page[CommitInfo](
            data=shown,
            pagination=Pagination(page=page, limit=limit, total=total, pages=-(-total // limit)),
        )

    return _log


_COLUMNS = (
    commits.c.id,
    commits.c.parent_id,
    commits.c.merge_parent_id,
    commits.c.author,
    commits.c.message,
    commits.c.created_at,
)


def _touching(branch: Branch, table: str | None, row_key: str | None) -> list[Any]:
    # Only the commits that changed the row (or any row of the table).
    if table is None and row_key is None:
        return []
    conditions = [branch.project(changes), changes.c.commit_id == commits.c.id]
    if table is not None:
        conditions.append(changes.c.table_name == table)
    if row_key is not None:
        conditions.append(changes.c.row_key == row_key)
    return [exists().where(*conditions)]


async def _first_parents(
    conn: AsyncConnection,
    branch: Branch,
    head: str,
    table: str | None = None,
    row_key: str | None = None,
) -> list[CommitInfo]:
    # One recursive query walks the first-parent chain from the head.
    c = commits
    walk = (
        select(c.c.id, c.c.parent_id, literal(0).label("depth"))
        .where(branch.project(c), c.c.id == head)
        .cte("walk", recursive=True)
    )
    walk = walk.union_all(
        select(c.c.id, c.c.parent_id, (walk.c.depth + 1).label("depth"))
        .join(walk, c.c.id == walk.c.parent_id)
        .where(branch.project(c))
    )
    stmt = (
        select(*_COLUMNS)
        .join(walk, c.c.id == walk.c.id)
        .where(branch.project(c), *_touching(branch, table, row_key))
        .order_by(walk.c.depth)
    )
    return [CommitInfo.model_validate(dict(r)) for r in (await conn.execute(stmt)).mappings()]


async def _ancestors(
    conn: AsyncConnection,
    branch: Branch,
    head: str,
    table: str | None = None,
    row_key: str | None = None,
) -> list[CommitInfo]:
    # Every ancestor through both parents (UNION: each commit once).
    c = commits
    walk = (
        select(c.c.id, c.c.parent_id, c.c.merge_parent_id)
        .where(branch.project(c), c.c.id == head)
        .cte("ancestors", recursive=True)
    )
    walk = walk.union(
        select(c.c.id, c.c.parent_id, c.c.merge_parent_id)
        .join(walk, or_(c.c.id == walk.c.parent_id, c.c.id == walk.c.merge_parent_id))
        .where(branch.project(c))
    )
    stmt = (
        select(*_COLUMNS)
        .join(walk, c.c.id == walk.c.id)
        .where(branch.project(c), *_touching(branch, table, row_key))
        .order_by(c.c.generation.desc(), c.c.created_at.desc(), c.c.id)
    )
    return [CommitInfo.model_validate(dict(r)) for r in (await conn.execute(stmt)).mappings()]


class RefTarget(BaseModel):
    """The commit a ref names now, and the branch when the ref is one."""

    commit: str
    branch: str | None = None


def find_ref(manage: Db) -> Callable[..., Awaitable[RefTarget]]:
    """Curried: the commit ``scopes.ref`` names now and, when it is a branch, that
    branch's name (``None`` for a tag, a commit id or prefix, ``main~2``). ``NotFound``
    naming the ref when there is none."""

    async def _find_ref(*, scopes: ProjectScope) -> RefTarget:
        # Entered at the default branch: the ref is resolved here, never materialised.
        async with reading(manage, scopes.at(DEFAULT_BRANCH), snapshot=True) as access:
            found = await _resolve(access.conn, scopes.tenant_id, scopes.project_id, scopes.ref)
        return RefTarget(commit=found.commit_id, branch=found.branch)

    return _find_ref


def resolve_ref(manage: Db) -> Callable[..., Awaitable[ResolvedRef]]:
    """Curried: what ``scopes.ref`` names, as runtime rows record it: ``branch`` is the
    branch's name when the ref is a branch, else the ref as given (a tag, a commit id or
    prefix, ``main~2``); ``commit`` is the commit it resolves to now. ``NotFound``
    naming the ref when there is none."""

    async def _resolve_ref(*, scopes: ProjectScope) -> ResolvedRef:
        found = await find_ref(manage)(scopes=scopes)
        return ResolvedRef(branch=found.branch or scopes.ref, commit=found.commit)

    return _resolve_ref
