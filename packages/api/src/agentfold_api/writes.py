"""Manage writes made for a caller: one commit, authored by the caller, with the
client's message when it gives one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from agentfold_api.principal import Principal
from agentfold_core.data_access.doors import Unit, commit_message, transaction
from agentfold_core.db.engine import Database
from agentfold_core.errors import ReadOnlyRef, field_error
from agentfold_core.scopes import ProjectScope
from agentfold_core.versioning.commit import authored_by
from agentfold_core.versioning.operations import find_ref

T = TypeVar("T")


async def committed(
    manage: Database, caller: Principal, message: str | None, call: Callable[[Unit], Awaitable[T]]
) -> tuple[T, str | None]:
    """Run ``call``, one data-access call, in one manage transaction; its result and the
    commit it made (if any)."""
    async with transaction(
        manage, author=caller.author, message=message or None, one_call=True
    ) as unit:
        result = await call(unit)
    return result, unit.commits[-1] if unit.commits else None


@contextmanager
def on_behalf(caller: Principal, message: str | None) -> Iterator[None]:
    """Commits made inside the block (by functions that open their own units) name the
    caller as author and carry the client's message when it gives one."""
    with authored_by(caller.author), commit_message(message or None):
        yield


async def refuse_unless_branch(manage: Database, scope: ProjectScope) -> None:
    """A write that found nothing to change at ``scope.ref``: say why when the ref is a
    tag or a commit (only branches move) or names nothing at all (404)."""
    found = await find_ref(manage)(scopes=scope)
    if found.branch is None:
        text = f"{scope.ref!r} is a tag or a commit, not a branch: only branches can be written"
        raise ReadOnlyRef(text, errors=[field_error("ref", text, "read_only_ref")])
