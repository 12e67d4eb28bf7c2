"""Rows of a past commit decoded straight from its row images.

A read at a tag or a past commit that only needs the rows (a whole document) takes
them from the commit's manifest (the nearest snapshot plus the change sets since)
and the images it names, in one statement, without writing a materialised copy.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Dialect, and_, bindparam, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from agentfold_core.db.prepared import Prepared, prepare, run
from agentfold_core.versioning.history import snapshot_chain
from agentfold_core.versioning.rows import versioned_by_name
from agentfold_core.versioning.tables import changes, images, snapshots

# Hashes per statement: below the bound-parameter limit of any SQLite build.
_IMAGES_AT_ONCE = 500


async def load_images(
    conn: AsyncConnection, tenant_id: str, project_id: str, hashes: Iterable[str | None]
) -> dict[str, Any]:
    """The decoded row images named by ``hashes`` (absent hashes are skipped)."""
    wanted = sorted({h for h in hashes if h})
    data: dict[str, Any] = {}
    for start in range(0, len(wanted), _IMAGES_AT_ONCE):
        chunk = wanted[start : start + _IMAGES_AT_ONCE]
        found = await conn.execute(
            select(images.c.hash, images.c.data).where(
                images.c.tenant_id == tenant_id,
                images.c.project_id == project_id,
                images.c.hash.in_(chunk),
            )
        )
        data.update({str(h): json.loads(d) for h, d in found.all()})
    return data


# A snapshot's entries rank after every change replayed on top of it.
_SNAPSHOT_STEP = 1 << 30


def _in_project(table: Any) -> ColumnElement[bool]:
    return and_(
        table.c.tenant_id == bindparam("k_tenant"), table.c.project_id == bindparam("k_project")
    )


@cache
def _entries(dialect: Dialect) -> Prepared:
    # The commit's manifest entries with their images, in one statement: the nearest
    # snapshot's, and the changes of every commit after it, each with its step back
    # from the commit (the smallest step of a key wins; no image: the row is gone).
    chain = snapshot_chain(bindparam("k_tenant"), bindparam("k_project"), bindparam("k_commit"))
    ch, snap, im = changes, snapshots, images
    replayed = (
        select(chain.c.step, ch.c.table_name, ch.c.row_key, im.c.data)
        .select_from(
            chain.join(ch, and_(_in_project(ch), ch.c.commit_id == chain.c.id)).outerjoin(
                im, and_(_in_project(im), im.c.hash == ch.c.after_hash)
            )
        )
        .where(chain.c.snapshot.is_(False))
    )
    snapshotted = (
        select(literal(_SNAPSHOT_STEP), snap.c.table_name, snap.c.row_key, im.c.data)
        .select_from(
            chain.join(snap, and_(_in_project(snap), snap.c.commit_id == chain.c.id)).join(
                im, and_(_in_project(im), im.c.hash == snap.c.row_hash)
            )
        )
        .where(chain.c.snapshot.is_(True))
    )
    return prepare(union_all(replayed, snapshotted), dialect)


async def rows_at(
    conn: AsyncConnection,
    tenant_id: str,
    project_id: str,
    commit_id: str,
    tables: Collection[str],
) -> dict[str, list[dict[str, Any]]]:
    """The rows of ``tables`` as of ``commit_id``, by table: each row's image, every
    column but the scope (a column added since the image was written holds its
    default). One statement."""
    values = {"k_tenant": tenant_id, "k_project": project_id, "k_commit": commit_id}
    latest: dict[tuple[str, str], tuple[int, str | None]] = {}
    for step, table, row_key, data in await run(conn, _entries(conn.dialect), values):
        key = (str(table), str(row_key))
        if table in tables and (key not in latest or step < latest[key][0]):
            latest[key] = (int(step), data)
    present = [(table, data) for (table, _), (_, data) in latest.items() if data is not None]
    # The images are JSON texts: parsed as one array, not one by one.
    decoded = json.loads("[" + ",".join(data for _, data in present) + "]")
    by_name = versioned_by_name()
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in tables}
    for (table, _), row in zip(present, decoded, strict=True):
        versioned = by_name[table]
        if len(row) != len(versioned.data_columns):
            # Written before a column was added (or after one was dropped).
            row = {**dict(versioned.defaults), **row}
        found[table].append(row)
    return found
