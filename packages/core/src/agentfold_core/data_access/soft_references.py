"""References a database foreign key cannot hold: a row naming one of its own children
(an agent's default sub-agent) would make the two tables reference each other.

A ``SoftReference`` installs two rules as entity hooks, so every writer applies them:
a write that names a child checks, at the end of its unit of work (like a deferred
constraint: a document may write the agent before its sub-agents), that the child
exists; deleting a child clears the column of the row that named it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, bindparam, select, update

from agentfold_core.data_access.crud import Entity, Values, bound
from agentfold_core.data_access.doors import Access, Unit
from agentfold_core.db.types import utcnow
from agentfold_core.errors import InvalidReference


class SoftReference:
    """``owner.column`` names a ``child`` row whose ``<owner>_id`` is the owner's id."""

    def __init__(self, owner: Entity[Any], column: str, child: Entity[Any]) -> None:
        self.owner = owner
        self.column = column
        self.child = child
        self.parent_column = f"{owner.label}_id"
        if self.parent_column not in child.table.c or column not in owner.table.c:
            raise ValueError(f"{child.label} is not a child of {owner.label} by {column}")
        # Owner key columns other than ``id`` (its scope), shared with the child's key.
        self.scope_columns = tuple(c for c in owner.key_columns if c != "id")
        owner_table, child_table = owner.table, child.table
        self._missing = (
            select(owner_table.c.id, owner_table.c[column])
            .where(
                *(owner_table.c[c] == bindparam(f"k_{c}") for c in self.scope_columns),
                owner_table.c.id.in_(bindparam("k_ids", expanding=True)),
                owner_table.c[column].is_not(None),
                # OFFSET 0 keeps the test a probe of the child's key per owner:
                # PostgreSQL would otherwise turn it into an anti-join, which it plans
                # as a scan of the children per owner while the tables are young (a
                # 10,000-row import: seconds).
                ~select(child_table.c.id)
                .where(
                    *(child_table.c[c] == owner_table.c[c] for c in self.scope_columns),
                    child_table.c[self.parent_column] == owner_table.c.id,
                    child_table.c.id == owner_table.c[column],
                )
                .offset(0)
                .exists(),
            )
            .order_by(owner_table.c.id)
        )
        self._clear = (
            update(owner_table)
            .where(
                and_(
                    *(owner_table.c[c] == bindparam(f"k_{c}") for c in self.scope_columns),
                    owner_table.c.id == bindparam("k_owner"),
                    owner_table.c[column] == bindparam("k_child"),
                )
            )
            .values({column: None, "updated_at": bindparam("k_now")})
        )
        owner.hooks.before_write(self._check_later)
        child.hooks.before_delete.append(self._clear_owners)

    async def _check_later(self, access: Access, rows: Sequence[Values]) -> None:
        named: dict[tuple[Any, ...], set[str]] = defaultdict(set)
        for row in rows:
            if row.get(self.column) is not None:
                named[tuple(row[c] for c in self.scope_columns)].add(row["id"])
        if not named:
            return

        async def check(unit: Unit) -> None:
            for scope, ids in named.items():
                params = bound(dict(zip(self.scope_columns, scope, strict=True)))
                params["k_ids"] = sorted(ids)
                missing = (await unit.conn.execute(self._missing, params)).first()
                if missing is not None:
                    owner_id, target = missing
                    raise InvalidReference(
                        f"{self.owner.label} {owner_id!r} names {self.column} {target!r}, "
                        "which does not exist",
                        resource=self.owner.label,
                        key={f"{self.owner.label}_id": owner_id, self.column: target},
                    )

        access.unit.defer(check)

    async def _clear_owners(self, access: Access, keys: Sequence[Values]) -> None:
        now = utcnow()
        params = [
            {
                **{f"k_{c}": key[c] for c in self.scope_columns},
                "k_owner": key[self.parent_column],
                "k_child": key["id"],
                "k_now": now,
            }
            for key in keys
        ]
        await access.conn.execute(self._clear, params)
