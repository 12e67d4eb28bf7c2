"""History for rows that predate version control (a data migration).

Every project branch without a branch row gets a root commit holding its current rows,
hashed exactly as commits hash them, so the first commit after the upgrade shows only
what it changes. The tables are reflected from the database being migrated, not taken
from the models, so this stays right whatever later revisions change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, MetaData, and_, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from agentfold_core.db.types import utcnow
from agentfold_core.versioning.commit import new_commit_id
from agentfold_core.versioning.rows import VersionedTable, versioned
from agentfold_core.versioning.tables import branches, changes, commits, heads, images

AUTHOR = "agentfold migration"
MESSAGE = "History starts: the configuration as it was when version control was installed"


def initialise_history(conn: Connection) -> int:
    """Give every project branch that has no history a root commit; how many got one."""
    reflected = MetaData()
    reflected.reflect(conn)
    tables = [v for t in reflected.sorted_tables if (v := versioned(t)) is not None]
    projects = next(v for v in tables if v.name == "projects")
    known = {
        tuple(r)
        for r in conn.execute(
            select(branches.c.tenant_id, branches.c.project_id, branches.c.branch)
        )
    }
    found = conn.execute(
        select(projects.table.c.tenant_id, projects.table.c.id, projects.table.c.branch)
    ).all()
    made = 0
    for tenant_id, project_id, branch in found:
        if (tenant_id, project_id, branch) not in known:
            _root(conn, tables, str(tenant_id), str(project_id), str(branch))
            made += 1
    return made


def _root(
    conn: Connection, tables: Sequence[VersionedTable], tenant_id: str, project_id: str, branch: str
) -> None:
    scope = {"tenant_id": tenant_id, "project_id": project_id}
    found: dict[str, str] = {}
    manifest: list[dict[str, Any]] = []
    for table in tables:
        columns = table.table.c
        condition = and_(
            columns.tenant_id == tenant_id,
            columns[table.project_column] == project_id,
            columns.branch == branch,
        )
        for row in conn.execute(select(table.table).where(condition)).mappings():
            row_hash, image = table.image(row)
            found[row_hash] = image
            manifest.append(
                {"table_name": table.name, "row_key": table.row_key(row), "h": row_hash}
            )
    commit_id = new_commit_id()
    conn.execute(
        insert(commits).values(
            **scope,
            id=commit_id,
            parent_id=None,
            merge_parent_id=None,
            generation=0,
            depth=0,
            snapshot=False,
            author=AUTHOR,
            message=MESSAGE,
            created_at=utcnow(),
        )
    )
    # A root commit: generation and depth 0, the columns' defaults (named here they
    # would break revision 0004, which runs this before 0006 adds them).
    conn.execute(
        insert(branches).values(
            **scope, branch=branch, head=commit_id, internal=False, created_at=utcnow()
        )
    )
    if not manifest:
        return
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        module.insert(images).on_conflict_do_nothing(),
        [{**scope, "hash": h, "data": d} for h, d in found.items()],
    )
    conn.execute(
        insert(heads),
        [
            {
                **scope,
                "branch": branch,
                "table_name": m["table_name"],
                "row_key": m["row_key"],
                "row_hash": m["h"],
            }
            for m in manifest
        ],
    )
    conn.execute(
        insert(changes),
        [
            {
                **scope,
                "commit_id": commit_id,
                "table_name": m["table_name"],
                "row_key": m["row_key"],
                "before_hash": None,
                "after_hash": m["h"],
            }
            for m in manifest
        ],
    )
