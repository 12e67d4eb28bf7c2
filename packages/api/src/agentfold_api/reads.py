"""Manage reads pinned to the commit they saw, for the ``x-agentfold-commit`` header."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from agentfold_core.data_access.doors import Db, session
from agentfold_core.db.engine import Database
from agentfold_core.scopes import ProjectScope, is_branch_name
from agentfold_core.versioning.operations import find_ref

T = TypeVar("T")
Read = Callable[[Db, ProjectScope], Awaitable[T]]


async def pinned(manage: Database, scope: ProjectScope, read: Read[T]) -> tuple[T, str]:
    """``read`` at ``scope.ref`` and the commit it read.

    A branch is read in one snapshot with its head (a concurrent commit is either in
    both or in neither); any other ref is resolved once to its commit and read there,
    so ``main~2`` cannot move between the two.
    """
    if is_branch_name(scope.ref):
        async with session(manage, snapshot=True) as unit:
            resolved = await find_ref(unit)(scopes=scope)
            if resolved.branch is not None:
                return await read(unit, scope), resolved.commit
    else:
        resolved = await find_ref(manage)(scopes=scope)
    return await read(manage, scope.at(resolved.commit)), resolved.commit
