"""Reads at any ref through the ordinary statements.

A ref that can be a branch name is read as a branch first: a read at a branch costs
no extra round trip. Only an empty result pays more, to tell an empty branch (or a
project that does not exist) from a ref that names a tag or a commit (read again from
its materialised copy) or nothing (``NotFound`` naming the ref). A ref with ``~N`` or
``^`` is resolved first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from agentfold_core.data_access.doors import Access, Db, reading, session, transaction
from agentfold_core.db.engine import Database
from agentfold_core.scopes import ProjectScope, is_branch_name
from agentfold_core.versioning.history import resolve_ref
from agentfold_core.versioning.materialise import materialise
from agentfold_core.versioning.operations import find_ref
from agentfold_core.versioning.tables import branches

T = TypeVar("T")
PinnedRead = Callable[[Db, ProjectScope], Awaitable[T]]


async def _is_branch_or_no_project(conn: AsyncConnection, scope: ProjectScope) -> bool:
    # True when the ref is a branch, or when the project has no history at all (a
    # project that does not exist reads as empty, as it always has).
    stmt = (
        select(branches.c.branch)
        .where(
            branches.c.tenant_id == scope.tenant_id,
            branches.c.project_id == scope.project_id,
            branches.c.internal.is_(False),
        )
        .limit(1)
    )
    exact = stmt.where(branches.c.branch == scope.ref)
    if (await conn.execute(exact)).first() is not None:
        return True
    return (await conn.execute(stmt)).first() is None


async def read_at_ref(
    db: Db,
    scope: ProjectScope,
    read: Callable[[Access], Awaitable[T]],
    empty: Callable[[T], bool],
    *,
    snapshot: bool = False,
    past: Callable[[AsyncConnection, str], Awaitable[T]] | None = None,
) -> T:
    """Run ``read`` at ``scope.ref`` (a branch, tag, commit id or prefix, ``~N``, ``^``).

    ``past`` reads a commit that is not a branch head from its row images (given the
    connection and the commit id), instead of ``read`` on a materialised copy."""
    if is_branch_name(scope.ref):
        async with reading(db, scope, snapshot=snapshot) as access:
            result = await read(access)
            if not empty(result) or await _is_branch_or_no_project(access.conn, scope):
                return result
    # With ``past`` the ref is read where it is resolved: one state for both.
    async with reading(db, scope.at(_ANY_BRANCH), snapshot=past is not None) as access:
        resolved = await resolve_ref(access.conn, scope.tenant_id, scope.project_id, scope.ref)
        if resolved.branch is None and past is not None:
            return await past(access.conn, resolved.commit_id)
    if resolved.branch is not None:
        async with reading(db, scope.at(resolved.branch), snapshot=snapshot) as access:
            return await read(access)
    async with transaction(db) as unit:
        name = await materialise(unit.conn, scope.tenant_id, scope.project_id, resolved.commit_id)
    async with reading(db, scope.at(name), snapshot=snapshot) as access:
        return await read(access)


# Resolving needs a connection, not a branch: any well-formed branch name will do.
_ANY_BRANCH = "main"


async def read_pinned(manage: Database, scope: ProjectScope, read: PinnedRead[T]) -> tuple[T, str]:
    """``read`` at ``scope.ref`` and the commit it read.

    A branch is read in one snapshot with its head (a concurrent commit is either in
    both or in neither); any other ref is resolved once to its commit and read there,
    so ``main~2`` cannot move between the two. ``read`` gets the scope at the ref it
    should read, of the same level as ``scope``.
    """
    if is_branch_name(scope.ref):
        async with session(manage, snapshot=True) as unit:
            resolved = await find_ref(unit)(scopes=scope)
            if resolved.branch is not None:
                return await read(unit, scope), resolved.commit
    else:
        resolved = await find_ref(manage)(scopes=scope)
    return await read(manage, replace(scope, ref=resolved.commit)), resolved.commit
