"""Diff between two refs: per-table counts, and row-level entries with the columns
that differ (before and after values, decoded from the row images).

Both refs are resolved to commits and compared by their manifests (a branch head's
manifest is read as it stands, a past commit's is rebuilt), so a diff reads no row of
the working tables. The helpers here (images, head manifests, hashing a decoded row)
serve apply and merge as well.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from agentfold_core.data_access.doors import Db, reading
from agentfold_core.scopes import DEFAULT_BRANCH, ProjectScope
from agentfold_core.versioning.commit import Branch, Key
from agentfold_core.versioning.history import branch_manifest, manifest_at, resolve_ref
from agentfold_core.versioning.past_rows import load_images
from agentfold_core.versioning.rows import VersionedTable, versioned_by_name
from agentfold_core.versioning.tables import heads

Row = dict[str, Any]
Manifest = dict[Key, str]


class ColumnChange(BaseModel):
    """One column of a row that differs between the two sides."""

    column: str
    before: Any = None
    after: Any = None


class RowDiff(BaseModel):
    """One row that differs: added, modified or removed, with its changed columns."""

    table: str
    row_key: str
    kind: Literal["added", "modified", "removed"]
    columns: list[ColumnChange]
    before: Row | None
    after: Row | None


class TableCounts(BaseModel):
    """How many rows of one table were added, modified and removed."""

    added: int = 0
    modified: int = 0
    removed: int = 0


class Diff(BaseModel):
    """What changes from one commit to another."""

    from_commit: str
    to_commit: str
    counts: dict[str, TableCounts]
    rows: list[RowDiff]


# --------------------------------------------------------------------------- helpers


async def head_manifest(
    conn: AsyncConnection, branch: Branch, keys: Collection[Key] | None = None
) -> Manifest:
    """``{(table, row key): row hash}`` of the branch's head commit (only ``keys``,
    when given)."""
    return await branch_manifest(conn, branch.tenant_id, branch.project_id, branch.name, keys)


async def head_difference(
    conn: AsyncConnection, before: Branch, after: Branch
) -> tuple[Manifest, Manifest]:
    """The entries of two branches' head manifests that differ (each side's part),
    compared in the database: only the difference travels."""

    # One index range over both branches, grouped by key: linear whatever the plan.
    def side(branch: Branch) -> Any:
        return func.max(case((heads.c.branch == branch.name, heads.c.row_hash)))

    old_hash, new_hash = side(before).label("old"), side(after).label("new")
    stmt = (
        select(heads.c.table_name, heads.c.row_key, old_hash, new_hash)
        .where(
            heads.c.tenant_id == before.tenant_id,
            heads.c.project_id == before.project_id,
            heads.c.branch.in_([before.name, after.name]),
        )
        .group_by(heads.c.table_name, heads.c.row_key)
        .having(side(before).is_distinct_from(side(after)))
    )
    old: Manifest = {}
    new: Manifest = {}
    for table, row_key, old_value, new_value in await conn.execute(stmt):
        key = (str(table), str(row_key))
        if old_value is not None:
            old[key] = str(old_value)
        if new_value is not None:
            new[key] = str(new_value)
    return old, new


def row_image(versioned: VersionedTable, data: Mapping[str, Any]) -> tuple[str, str]:
    """``(hash, canonical JSON)`` of a decoded (or merged, or hand-written) row, the
    same as the row will hash to once written and read back."""
    values = versioned.values(data)
    return versioned.image({c: values.get(c) for c in versioned.data_columns})


def column_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[ColumnChange]:
    """The columns whose values differ, by name."""
    names = sorted(before.keys() | after.keys())
    return [
        ColumnChange(column=c, before=before.get(c), after=after.get(c))
        for c in names
        if before.get(c) != after.get(c)
    ]


async def diff_manifests(
    conn: AsyncConnection,
    tenant_id: str,
    project_id: str,
    before: Mapping[Key, str],
    after: Mapping[Key, str],
    *,
    from_commit: str = "",
    to_commit: str = "",
) -> Diff:
    """The diff from manifest ``before`` to manifest ``after``."""
    keys = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    data = await load_images(
        conn, tenant_id, project_id, [before.get(k) for k in keys] + [after.get(k) for k in keys]
    )
    counts: dict[str, TableCounts] = {}
    rows: list[RowDiff] = []
    for table, row_key in keys:
        old_hash, new_hash = before.get((table, row_key)), after.get((table, row_key))
        old = None if old_hash is None else data[old_hash]
        new = None if new_hash is None else data[new_hash]
        count = counts.setdefault(table, TableCounts())
        if old is None:
            kind: Literal["added", "modified", "removed"] = "added"
            count.added += 1
            columns: list[ColumnChange] = []
        elif new is None:
            kind = "removed"
            count.removed += 1
            columns = []
        else:
            kind = "modified"
            count.modified += 1
            columns = column_changes(old, new)
        rows.append(
            RowDiff(table=table, row_key=row_key, kind=kind, columns=columns, before=old, after=new)
        )
    return Diff(from_commit=from_commit, to_commit=to_commit, counts=counts, rows=rows)


def versioned_table(name: str) -> VersionedTable:
    """The versioned table ``name`` (every manifest names only those)."""
    return versioned_by_name()[name]


# --------------------------------------------------------------------------- operation


def diff(manage: Db) -> Callable[..., Awaitable[Diff]]:
    """Curried: what changes from ``from_ref`` to ``to_ref`` (default: ``scopes.ref``),
    row by row and column by column."""

    async def _diff(*, scopes: ProjectScope, from_ref: str, to_ref: str | None = None) -> Diff:
        tenant, project = scopes.tenant_id, scopes.project_id
        # The refs are resolved here, not by the door (either may name a past commit).
        async with reading(manage, scopes.at(DEFAULT_BRANCH), snapshot=True) as access:
            conn = access.conn
            source = await resolve_ref(conn, tenant, project, from_ref)
            target = await resolve_ref(conn, tenant, project, to_ref or scopes.ref)
            if source.branch is not None and target.branch is not None:
                # Two branch heads: only the entries that differ are read.
                before, after = await head_difference(
                    conn,
                    Branch(tenant, project, source.branch),
                    Branch(tenant, project, target.branch),
                )
            else:
                before = await manifest_at(conn, tenant, project, source.commit_id)
                after = (
                    before
                    if target.commit_id == source.commit_id
                    else await manifest_at(conn, tenant, project, target.commit_id)
                )
            return await diff_manifests(
                conn,
                tenant,
                project,
                before,
                after,
                from_commit=source.commit_id,
                to_commit=target.commit_id,
            )

    return _diff
