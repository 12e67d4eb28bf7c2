"""Manage entities named by runtime writes (a conversation's agent, a message's
sub-agents, a task's agent), checked in the manage database at the configuration ref
the runtime row runs against: no foreign key can cross the two databases, and a
runtime row must never name something its configuration does not have."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from agentfold_core.content import ResolvedRef
from agentfold_core.data_access.crud import Entity
from agentfold_core.data_access.doors import Access, Db, Unit, session
from agentfold_core.data_access.manage.agents import AGENTS, SUB_AGENTS
from agentfold_core.data_access.manage.tools import EXTERNAL_AGENTS
from agentfold_core.data_access.scope_keys import Target
from agentfold_core.db.columns import ScopeLevel
from agentfold_core.errors import InvalidReference, NotFound, field_error
from agentfold_core.ids import is_valid_id
from agentfold_core.scopes import AgentScope, ProjectScope
from agentfold_core.versioning.operations import RefTarget, find_ref
from agentfold_core.versioning.reads import read_at_ref


@dataclass(frozen=True, slots=True)
class Named:
    """One manage entity a runtime write names, with the input field that names it."""

    field: str
    entity: Entity[Any]
    id: str
    # The agent an agent-level entity (a sub-agent) belongs to.
    agent_id: str | None = None


def agent(field: str, agent_id: str) -> Named:
    """An agent named by ``field``."""
    return Named(field, AGENTS, agent_id)


def sub_agent(field: str, agent_id: str, sub_agent_id: str) -> Named:
    """A sub-agent of ``agent_id`` named by ``field``."""
    return Named(field, SUB_AGENTS, sub_agent_id, agent_id)


def external_agent(field: str, external_agent_id: str) -> Named:
    """An external agent of the project named by ``field``."""
    return Named(field, EXTERNAL_AGENTS, external_agent_id)


async def check_run_references(
    manage: Db,
    scope: ProjectScope,
    names: Sequence[Named],
    *,
    recorded: ResolvedRef | None = None,
) -> ResolvedRef:
    """Check ``names`` in the project of ``scope`` at ``recorded`` (a runtime row's ref)
    or, with nothing recorded, at ``scope.ref`` as it resolves now; the ref checked.

    ``InvalidReference`` with one field error per name that does not exist there;
    ``NotFound`` for a ref that names nothing.

    While the recorded branch still points at the recorded commit the branch is read
    (cheap); once it has moved (or is gone, or the ref is a tag or ``main~N``), the
    recorded commit is read (materialised on first read).
    """
    if not names and recorded is not None:
        return recorded
    found: set[str] | None = None
    async with _snapshot(manage) as db:
        head: RefTarget | None
        if recorded is None:
            head = now = await find_ref(db)(scopes=scope)
            recorded = ResolvedRef(branch=now.branch or scope.ref, commit=now.commit)
        else:
            head = await _head(db, scope.at(recorded.branch))
        if head is not None and head.branch is not None and head.commit == recorded.commit:
            # Same snapshot as the head just read: the branch cannot move in between.
            found = await _found(db, scope.at(head.branch), names)
    if found is None:
        found = await _found(manage, scope.at(recorded.commit or recorded.branch), names)
    missing = [n for n in names if n.field not in found]
    if missing:
        first = missing[0]
        raise InvalidReference(
            f"{first.field} names {first.entity.label} {first.id!r}, which does not exist"
            f" at {recorded.branch!r} ({recorded.commit})",
            errors=[
                field_error(n.field, f"no {n.entity.label} {n.id!r} here", "invalid_reference")
                for n in missing
            ],
            resource=first.entity.label,
            key={first.field: first.id},
        )
    return recorded


@asynccontextmanager
async def _snapshot(manage: Db) -> AsyncIterator[Db]:
    # One state for the head and the rows read at it; a unit already open is its own.
    if isinstance(manage, Unit):
        yield manage
        return
    async with session(manage, snapshot=True) as unit:
        yield unit


async def _head(db: Db, scope: ProjectScope) -> RefTarget | None:
    try:
        return await find_ref(db)(scopes=scope)
    except NotFound:
        # A recorded branch deleted since: its commit still holds the configuration.
        return None


async def _found(db: Db, at: ProjectScope, names: Sequence[Named]) -> set[str]:
    """The fields of ``names`` whose entity exists at ``at``, read in one access."""

    async def read(access: Access) -> set[str]:
        present: set[str] = set()
        for name in names:
            # An id no row can have names nothing: not a malformed request, a dangling one.
            if not is_valid_id(name.id) or (
                name.agent_id is not None and not is_valid_id(name.agent_id)
            ):
                continue
            target = access.target
            if name.agent_id is not None and name.entity.traits.level is ScopeLevel.AGENT:
                scope = AgentScope(at.tenant_id, at.project_id, name.agent_id, ref=at.ref)
                target = Target(scope, target.branch)
            id_param = name.entity.id_param or "id"
            if await name.entity.fetch(access, name.entity.key(target, {id_param: name.id})):
                present.add(name.field)
        return present

    return await read_at_ref(db, at, read, _none)


def _none(found: set[str]) -> bool:
    return not found
