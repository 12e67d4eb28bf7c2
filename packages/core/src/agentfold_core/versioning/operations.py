"""Version-control operations, curried like the rest of the data layer:
``await log(manage)(scopes=ProjectScope("acme", "support"))``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from agentfold_core.data_access.doors import Db, reading
from agentfold_core.errors import NotFound
from agentfold_core.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, Pagination
from agentfold_core.scopes import ProjectScope
from agentfold_core.versioning.commit import Branch, Change, uncommitted
from agentfold_core.versioning.tables import branches, commits


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
    """Curried: one page of the branch's history, newest first, following first parents."""

    async def _log(
        *, scopes: ProjectScope, page: int = 1, limit: int = DEFAULT_LIMIT
    ) -> Page[CommitInfo]:
        limit = max(1, min(limit, MAX_LIMIT))
        async with reading(manage, scopes, snapshot=True) as access:
            branch = _branch(scopes, access.target.branch)
            head = await branch_head(access.conn, branch)
            chain = await _first_parents(access.conn, branch, head)
        shown = chain[(page - 1) * limit : page * limit]
        total = len(chain)
        return Page[CommitInfo](
            data=shown,
            pagination=Pagination(page=page, limit=limit, total=total, pages=-(-total // limit)),
        )

    return _log


async def _first_parents(conn: AsyncConnection, branch: Branch, head: str) -> list[CommitInfo]:
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
        select(c.c.id, c.c.parent_id, c.c.merge_parent_id, c.c.author, c.c.message, c.c.created_at)
        .join(walk, c.c.id == walk.c.id)
        .where(branch.project(c))
        .order_by(walk.c.depth)
    )
    return [CommitInfo.model_validate(dict(r)) for r in (await conn.execute(stmt)).mappings()]
