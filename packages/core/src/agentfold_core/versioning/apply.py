"""Applying a manifest to a branch's working rows, and verifying the result.

``apply_manifest`` makes the rows of a branch equal a target manifest given the
manifest they equal now (both may be partial, over the keys an operation changes: a
key in neither is the branch head's): deletes first (children before parents), then inserts and
updates (parents before children), in the order of ``rows.versioned_tables()``. It
then *verifies*: every key it touched, and every key the capture triggers recorded
for the branch meanwhile (foreign-key cascades, SET NULL triggers), must now hash to
the target. A cascade that removed or changed a row the target keeps raises
``ApplyFailed`` naming the rows; raised inside the write door, it rolls the whole
transaction back.

The capture triggers record what apply writes, so the commit that follows (a merge
or revert commit) is made from them; ``move_head`` instead makes the target the
branch head without a commit (fast-forward, reset).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    bindparam,
    delete,
    insert,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from agentfold_core.db.integrity import classify
from agentfold_core.errors import Conflict
from agentfold_core.versioning.commit import Branch, Key, Recorded, head_values, recorded
from agentfold_core.versioning.diff import Row, head_manifest
from agentfold_core.versioning.past_rows import load_images
from agentfold_core.versioning.rows import (
    SEPARATOR,
    VersionedTable,
    versioned_by_name,
    versioned_tables,
)
from agentfold_core.versioning.tables import branches, dirty, heads

_NAMED_AT_MOST = 20


class ApplyFailed(Conflict):
    """Writing a merge, revert or reset result left rows other than the result says
    (a foreign-key cascade removed or changed a row the result keeps); nothing was
    changed. ``rows`` names them as ``(table, row key)``."""

    def __init__(self, message: str, rows: Sequence[Key], **context: Any) -> None:
        shown = [{"table": t, "row_key": k} for t, k in rows]
        super().__init__(message, rows=shown, **context)
        self.rows = list(rows)


class UncommittedChanges(Conflict):
    """The branch's working rows differ from its head (a write earlier in the same
    unit of work): merge, revert and reset need a clean branch."""


def _in_branch(versioned: VersionedTable, branch: Branch) -> ColumnElement[bool]:
    return versioned.in_branch(branch.tenant_id, branch.project_id, branch.name)


def _scope_values(versioned: VersionedTable, branch: Branch) -> dict[str, Any]:
    values: dict[str, Any] = {"tenant_id": branch.tenant_id, "branch": branch.name}
    values[versioned.project_column] = branch.project_id
    return values


async def ensure_clean(conn: AsyncConnection, branch: Branch) -> None:
    """``UncommittedChanges`` unless the branch's working rows are its head."""
    found = await recorded(conn, branch)
    if found is not None and found.moved:
        raise UncommittedChanges(
            f"branch {branch.name!r} has {len(found.moved)} uncommitted changes",
            resource="branch",
            key={"project_id": branch.project_id, "branch": branch.name},
        )


def _key_params(versioned: VersionedTable, row_key: str) -> dict[str, Any]:
    return {f"k_{c}": v for c, v in versioned.key_values(row_key).items()}


def _key_match(versioned: VersionedTable) -> list[ColumnElement[bool]]:
    table = versioned.table
    return [table.c[c] == bindparam(f"k_{c}", type_=String()) for c in versioned.key_columns]


async def _write(
    conn: AsyncConnection,
    branch: Branch,
    target: Mapping[Key, str],
    current: Mapping[Key, str],
    keys: Sequence[Key],
    data: Mapping[str, Row],
) -> None:
    by_table: dict[str, list[str]] = {}
    for name, row_key in keys:
        by_table.setdefault(name, []).append(row_key)
    order = [v for v in versioned_tables() if v.name in by_table]
    for versioned in reversed(order):  # deletes: children first
        gone = [k for k in by_table[versioned.name] if (versioned.name, k) not in target]
        if gone:
            await conn.execute(
                delete(versioned.table).where(
                    _in_branch(versioned, branch), *_key_match(versioned)
                ),
                [_key_params(versioned, k) for k in gone],
            )
    for versioned in order:  # inserts and updates: parents first
        name, table = versioned.name, versioned.table
        new = [k for k in by_table[name] if (name, k) in target and (name, k) not in current]
        changed = [k for k in by_table[name] if (name, k) in target and (name, k) in current]
        if new:
            rows = [
                {**versioned.values(data[target[(name, k)]]), **_scope_values(versioned, branch)}
                for k in new
            ]
            await conn.execute(insert(table), rows)
        if changed:
            settable = [c for c in versioned.data_columns if c not in versioned.key_columns]
            params = []
            for k in changed:
                values = versioned.values(data[target[(name, k)]])
                params.append(
                    {**_key_params(versioned, k), **{f"v_{c}": values.get(c) for c in settable}}
                )
            statement = (
                update(table)
                .where(_in_branch(versioned, branch), *_key_match(versioned))
                .values({c: bindparam(f"v_{c}", type_=table.c[c].type) for c in settable})
            )
            await conn.execute(statement, params)


@dataclass(frozen=True, slots=True)
class Applied:
    """What ``apply_manifest`` wrote, and the branch's changes since its head after it
    (verified: what a commit of the result records)."""

    keys: list[Key]
    recorded: Recorded | None = None


async def apply_manifest(
    conn: AsyncConnection,
    branch: Branch,
    target: Mapping[Key, str],
    current: Mapping[Key, str],
    data: Mapping[str, Row] | None = None,
) -> Applied:
    """Make the branch's working rows, which equal ``current``, equal ``target``
    (``data``: decoded images by hash, for rows not yet stored as images), then verify
    them. Both manifests may name only some keys (the same ones): every other key must
    keep the head's entry."""
    keys = sorted(k for k in target.keys() | current.keys() if target.get(k) != current.get(k))
    if not keys:
        return Applied(keys)
    decoded = dict(data or {})
    missing = [target[k] for k in keys if k in target and target[k] not in decoded]
    decoded.update(await load_images(conn, branch.tenant_id, branch.project_id, missing))
    await _refuse_orphans(conn, branch, target, current, keys, decoded)
    try:
        await _write(conn, branch, target, current, keys, decoded)
    except IntegrityError as error:
        found = classify(error, resource="row", key={"branch": branch.name})
        raise (found or error) from error
    return Applied(keys, await _verify(conn, branch, target, current, keys))


def _named(rows: Sequence[Key]) -> str:
    named = ", ".join(f"{t} {k.replace(SEPARATOR, '/')!r}" for t, k in rows[:_NAMED_AT_MOST])
    more = f" and {len(rows) - _NAMED_AT_MOST} more" if len(rows) > _NAMED_AT_MOST else ""
    return named + more


def _parent_key(
    child: Row, scope: Mapping[str, Any], parent: VersionedTable, pairs: Mapping[str, str]
) -> str | None:
    # ``pairs``: parent column -> child column of one foreign key. None when the key
    # does not name a whole parent row, or a child column is null (nothing referenced).
    parts = []
    for column in parent.key_columns:
        child_column = pairs.get(column)
        if child_column is None:
            return None
        value = scope[child_column] if child_column in scope else child.get(child_column)
        if value is None:
            return None
        parts.append(str(value))
    return SEPARATOR.join(parts)


async def _refuse_orphans(
    conn: AsyncConnection,
    branch: Branch,
    target: Mapping[Key, str],
    current: Mapping[Key, str],
    keys: Sequence[Key],
    decoded: Mapping[str, Row],
) -> None:
    # A written row whose parent the result lacks would fail its foreign key with an
    # error that names nothing (SQLite's says only "FOREIGN KEY constraint failed"):
    # find such rows first and name them. A parent the manifests do not name is the
    # head's.
    by_name = versioned_by_name()
    parents: dict[Key, list[Key]] = {}
    for key in keys:
        row_hash = target.get(key)
        if row_hash is None:
            continue
        versioned = by_name[key[0]]
        child = decoded[row_hash]
        scope = _scope_values(versioned, branch)
        for constraint in versioned.table.foreign_key_constraints:
            parent = by_name.get(constraint.referred_table.name)
            if parent is None:
                continue
            pairs = {e.column.name: e.parent.name for e in constraint.elements}
            parent_key = _parent_key(child, scope, parent, pairs)
            if parent_key is not None:
                parents.setdefault(key, []).append((parent.name, parent_key))
    unnamed = {p for found in parents.values() for p in found} - target.keys() - current.keys()
    kept = {*target.keys(), *(await head_manifest(conn, branch, unnamed)).keys()}
    orphans = [k for k, found in parents.items() if any(p not in kept for p in found)]
    if orphans:
        raise ApplyFailed(
            f"the result cannot be written to branch {branch.name!r}: {len(orphans)} rows "
            f"would reference rows it does not keep: {_named(orphans)}",
            orphans,
            resource="branch",
            key={"project_id": branch.project_id, "branch": branch.name},
        )


async def _verify(
    conn: AsyncConnection,
    branch: Branch,
    target: Mapping[Key, str],
    current: Mapping[Key, str],
    keys: Sequence[Key],
) -> Recorded | None:
    # ApplyFailed unless every key written, and every key recorded for the branch since
    # its last commit, holds what the target says; a key the manifests do not name
    # must not have moved from the head. The recorded changes, verified.
    found = await recorded(conn, branch)
    moved = {} if found is None else {(c.table, c.row_key): c.after for c in found.moved}
    named = target.keys() | current.keys()
    wrong = [
        k
        for k in sorted(set(keys) | moved.keys())
        if k not in named or (moved[k] if k in moved else current.get(k)) != target.get(k)
    ]
    if wrong:
        raise ApplyFailed(
            f"the result cannot be written to branch {branch.name!r}: {len(wrong)} rows would "
            f"differ from it (a foreign-key cascade removed or changed them): {_named(wrong)}",
            wrong,
            resource="branch",
            key={"project_id": branch.project_id, "branch": branch.name},
        )
    return found


async def move_head(
    conn: AsyncConnection,
    branch: Branch,
    commit_id: str,
    target: Mapping[Key, str],
    current: Mapping[Key, str],
) -> None:
    """Make ``commit_id`` (whose manifest is ``target``; the head's is ``current``) the
    branch head, once its working rows equal ``target``: no commit is made."""
    keys = [k for k in target.keys() | current.keys() if target.get(k) != current.get(k)]
    if keys:
        await conn.execute(
            delete(heads).where(
                branch.where(heads),
                heads.c.table_name == bindparam("k_table"),
                heads.c.row_key == bindparam("k_row"),
            ),
            [{"k_table": t, "k_row": k} for t, k in keys],
        )
    added = [k for k in keys if k in target]
    if added:
        await conn.execute(
            insert(heads),
            [
                {
                    "tenant_id": branch.tenant_id,
                    "project_id": branch.project_id,
                    "branch": branch.name,
                    "table_name": t,
                    "row_key": k,
                    "row_hash": target[(t, k)],
                }
                for t, k in added
            ],
        )
    moved = head_values(branch.tenant_id, branch.project_id, commit_id)
    await conn.execute(update(branches).where(branch.where(branches)).values(**moved))
    # The working rows are the new head: nothing is left to commit.
    await conn.execute(delete(dirty).where(branch.where(dirty)))
