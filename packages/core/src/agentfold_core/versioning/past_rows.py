"""Rows of a past commit decoded straight from its row images.

A read at a tag or a past commit that only needs the rows (a whole document) takes
them from the commit's manifest (the nearest snapshot plus the change sets since)
and the images it names, without writing a materialised copy.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from agentfold_core.db.json_text import loads
from agentfold_core.versioning.history import manifest_at
from agentfold_core.versioning.rows import versioned_by_name
from agentfold_core.versioning.tables import images

# Hashes per statement: below the bound-parameter limit of the SQLite build (999
# before 3.32, 32,766 since), so a 1,000-row project's images come in one statement.
_IMAGES_AT_ONCE = 4000 if sqlite3.sqlite_version_info >= (3, 32) else 900
# One statement for every call (its hash list expanded when it runs): building one
# per call coerced each of up to 500 hashes into a literal.
_IMAGES = select(images.c.hash, images.c.data).where(
    images.c.tenant_id == bindparam("tenant_id"),
    images.c.project_id == bindparam("project_id"),
    images.c.hash.in_(bindparam("hashes", expanding=True)),
)


async def load_images(
    conn: AsyncConnection, tenant_id: str, project_id: str, hashes: Iterable[str | None]
) -> dict[str, Any]:
    """The decoded row images named by ``hashes`` (absent hashes are skipped)."""
    wanted = sorted({h for h in hashes if h})
    data: dict[str, Any] = {}
    for start in range(0, len(wanted), _IMAGES_AT_ONCE):
        chunk = wanted[start : start + _IMAGES_AT_ONCE]
        values = {"tenant_id": tenant_id, "project_id": project_id, "hashes": chunk}
        found = await conn.execute(_IMAGES, values)
        data.update({str(h): loads(d) for h, d in found.all()})
    return data


async def rows_at(
    conn: AsyncConnection,
    tenant_id: str,
    project_id: str,
    commit_id: str,
    tables: Collection[str],
) -> dict[str, list[dict[str, Any]]]:
    """The rows of ``tables`` as of ``commit_id``, by table: each row's image, every
    column but the scope (a column added since the image was written holds its
    default)."""
    manifest = await manifest_at(conn, tenant_id, project_id, commit_id)
    wanted = [(table, h) for (table, _), h in manifest.items() if table in tables]
    data = await load_images(conn, tenant_id, project_id, (h for _, h in wanted))
    by_name = versioned_by_name()
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in tables}
    for table, row_hash in wanted:
        versioned, row = by_name[table], data[row_hash]
        if len(row) != len(versioned.data_columns):
            # Written before a column was added (or after one was dropped).
            row = {**dict(versioned.defaults), **row}
        found[table].append(row)
    return found
