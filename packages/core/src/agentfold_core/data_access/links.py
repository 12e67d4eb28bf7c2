"""Links between a sub-agent and what it uses (tools, components, skills, agents).

A link is a relation row whose id derives from its natural key, so linking is an
upsert, unlinking needs only the target id, and "who uses this" is one indexed query.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Generic, Protocol, TypeVar

from sqlalchemy import and_, bindparam, select
from sqlmodel import SQLModel

from agentfold_core.data_access.crud import Entity, bound
from agentfold_core.data_access.doors import Db, reading, writing
from agentfold_core.db.columns import ScopeLevel
from agentfold_core.scopes import ProjectScope, SubAgentScope
from agentfold_core.validation import Data

RowT = TypeVar("RowT", bound=SQLModel)
RowT_co = TypeVar("RowT_co", bound=SQLModel, covariant=True)


class UnlinkFn(Protocol):
    """``unlink_x(db)``: whether a link was removed."""

    def __call__(self, *, scopes: SubAgentScope, **target: str) -> Awaitable[bool]: ...


class UsersFn(Protocol[RowT_co]):
    """``list_sub_agents_using_x(db)``: every link to the target in the project."""

    def __call__(self, *, scopes: ProjectScope, **target: str) -> Awaitable[Sequence[RowT_co]]: ...


class Link(Generic[RowT]):
    """Link/unlink/reverse-lookup over one sub-agent relation entity."""

    def __init__(self, entity: Entity[RowT], target: str) -> None:
        if entity.traits.level is not ScopeLevel.SUB_AGENT or entity.traits.natural_key != (
            target,
        ):
            raise ValueError(f"{entity.label} is not a sub-agent link keyed by {target}")
        self.entity = entity
        self.target = target
        table = entity.table
        # The table the target column names (its foreign key).
        self.target_table = next(
            fk.column.table.name for fk in table.foreign_keys if fk.parent.name == target
        )
        # Every link to the target across the project: scope columns above the agent.
        above = ("agent_id", "sub_agent_id", "id")
        prefix = (*(c for c in entity.key_columns if c not in above), target)
        self._users = (
            select(table)
            .where(and_(*(table.c[n] == bindparam(f"k_{n}") for n in prefix)))
            .order_by(table.c.agent_id, table.c.sub_agent_id)
        )

    def _target_id(self, target: Mapping[str, str]) -> str:
        if set(target) != {self.target}:
            raise TypeError(f"{self.entity.label} needs exactly the keyword {self.target!r}")
        return target[self.target]

    def link(self, db: Db) -> Callable[..., Awaitable[RowT]]:
        """Curried: create or replace the link described by ``data`` (names the target)."""

        async def _link(*, scopes: SubAgentScope, data: Data) -> RowT:
            return await self.entity.upsert(db)(scopes=scopes, data=data)

        return _link

    def unlink(self, db: Db) -> UnlinkFn:
        """Curried: remove the link to a target."""

        async def _unlink(*, scopes: SubAgentScope, **target: str) -> bool:
            target_id = self._target_id(target)
            async with writing(db, scopes) as access:
                scope = self.entity.scope_key(access.target)
                key = {**scope, "id": self.entity.derived_id({**scope, self.target: target_id})}
                return await self.entity.delete_keys(access, [key]) > 0

        return _unlink

    def users(self, db: Db) -> UsersFn[RowT]:
        """Curried: every sub-agent link to a target, across the project's agents."""

        async def _users(*, scopes: ProjectScope, **target: str) -> Sequence[RowT]:
            target_id = self._target_id(target)
            async with reading(db, scopes) as access:
                prefix = self.entity.scope_key(access.target, ScopeLevel.PROJECT)
                prefix[self.target] = target_id
                rows = (await access.conn.execute(self._users, bound(prefix))).mappings().all()
            return [self.entity.row(r) for r in rows]

        return _users
