"""Verification and repair of a branch's history: the full re-scan.

Commits hash only the keys the capture triggers recorded; this reads every working
row of a branch instead, hashes it as a typed row (``VersionedTable.image``) and
compares the result with the branch's head manifest (``vc_heads``). After ordinary
writes the two agree; they part when something wrote behind the triggers' back (a
trigger dropped or disabled, a restore of part of a database, a manifest edited by
hand). ``repair_branch`` records every mismatching key as written, so the next commit
(made at once) brings the manifest back to the rows, with the repair in the log.

Curried like the rest of the data layer::

    found = await verify(manage)(scopes=ProjectScope("acme", "support"))
    fixed = await repair(manage)(scopes=ProjectScope("acme", "support"), author="ops")
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Select, and_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from agentfold_core.data_access.doors import Db, Unit, reading, transaction, writing
from agentfold_core.errors import NotFound
from agentfold_core.scopes import ProjectScope
from agentfold_core.versioning.capture import note_touched
from agentfold_core.versioning.commit import Branch, commit_branch, commit_changes, lock_branch
from agentfold_core.versioning.materialise import drop_branch_rows
from agentfold_core.versioning.rows import VersionedTable, versioned_by_name, versioned_tables
from agentfold_core.versioning.tables import KEY_PARTS, branches, dirty, heads

DEFAULT_MESSAGE = "Repair"


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One row on which the working copy and the head manifest disagree.

    ``manifest`` is the hash the head records (None: the manifest lacks the row),
    ``working`` the hash of the row as it is (None: the row is gone).
    """

    table: str
    row_key: str
    manifest: str | None
    working: str | None

    @property
    def kind(self) -> str:
        """``unrecorded`` (a row the manifest lacks), ``gone`` (a manifest entry without
        its row) or ``changed`` (both there, different hashes)."""
        if self.manifest is None:
            return "unrecorded"
        if self.working is None:
            return "gone"
        return "changed"

    def describe(self) -> str:
        """One line for people (the row key's parts joined by ``/``)."""
        key = self.row_key.replace("\x1f", "/")
        if self.kind == "unrecorded":
            return f"{self.table} {key}: row not in the head manifest"
        if self.kind == "gone":
            return f"{self.table} {key}: in the head manifest, but the row is gone"
        return (
            f"{self.table} {key}: the row differs from the head manifest "
            f"(manifest {self.manifest}, row {self.working})"
        )


class Verification(BaseModel):
    """What a full re-scan of one branch found."""

    tenant_id: str
    project_id: str
    branch: str
    head: str | None  # None: the branch has no history at all
    rows: int  # working rows scanned
    mismatches: list[Mismatch]

    @property
    def clean(self) -> bool:
        """Whether the head manifest is exactly the working rows."""
        return not self.mismatches


class Repair(BaseModel):
    """What a repair of one branch did."""

    tenant_id: str
    project_id: str
    branch: str
    commit: str | None  # the repair commit; None when nothing mismatched
    repaired: list[Mismatch]


# --------------------------------------------------------------------------- scanning


def _working_rows(versioned: VersionedTable, branch: Branch) -> Select[Any]:
    return select(versioned.table).where(
        versioned.in_branch(branch.tenant_id, branch.project_id, branch.name)
    )


async def _manifest(conn: AsyncConnection, branch: Branch) -> dict[tuple[str, str], str]:
    stmt = select(heads.c.table_name, heads.c.row_key, heads.c.row_hash).where(branch.where(heads))
    return {(str(t), str(k)): str(h) for t, k, h in await conn.execute(stmt)}


async def working_hashes(conn: AsyncConnection, branch: Branch) -> dict[tuple[str, str], str]:
    """``(table, row key) -> image hash`` of every working row of the branch, read as
    typed rows from every versioned table."""
    found: dict[tuple[str, str], str] = {}
    for versioned in versioned_tables():
        stmt = _working_rows(versioned, branch)
        for row in (await conn.execute(stmt)).mappings():
            found[(versioned.name, versioned.row_key(row))] = versioned.image(row)[0]
    return found


async def _scan(conn: AsyncConnection, branch: Branch) -> tuple[list[Mismatch], int]:
    manifest = await _manifest(conn, branch)
    working = await working_hashes(conn, branch)
    found = [
        Mismatch(table, row_key, manifest.get((table, row_key)), working.get((table, row_key)))
        for table, row_key in sorted(manifest.keys() | working.keys())
        if manifest.get((table, row_key)) != working.get((table, row_key))
    ]
    return found, len(working)


async def verify_branch(
    conn: AsyncConnection, tenant_id: str, project_id: str, branch: str
) -> list[Mismatch]:
    """Every row on which the branch's working copy and its head manifest disagree,
    ordered by table and row key (empty when they agree). Run it in one snapshot (a
    read-only transaction, or the write transaction of a repair)."""
    found, _rows = await _scan(conn, Branch(tenant_id, project_id, branch))
    return found


# --------------------------------------------------------------------------- repairing


def _dirty_rows(branch: Branch, found: Sequence[Mismatch]) -> list[dict[str, str | None]]:
    by_name = versioned_by_name()
    rows: list[dict[str, str | None]] = []
    for mismatch in found:
        versioned = by_name.get(mismatch.table)
        if versioned is None:
            # A manifest entry of a table the models no longer version: commits cannot
            # read it (a migration that drops a versioned table rehashes the heads).
            continue
        parts: list[str | None] = list(versioned.key_values(mismatch.row_key).values())
        parts += [None] * (KEY_PARTS - len(parts))
        rows.append(
            {
                "tenant_id": branch.tenant_id,
                "project_id": branch.project_id,
                "branch": branch.name,
                "table_name": mismatch.table,
                "row_key": mismatch.row_key,
                **{f"key_{n}": part for n, part in enumerate(parts, start=1)},
            }
        )
    return rows


async def record_mismatches(
    conn: AsyncConnection, branch: Branch, found: Sequence[Mismatch]
) -> None:
    """Record the mismatching keys in ``vc_dirty``, as the capture triggers record a
    write, so the branch's next commit re-reads those rows against its head."""
    rows = _dirty_rows(branch, found)
    if not rows:
        return
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    await conn.execute(module.insert(dirty).on_conflict_do_nothing(), rows)
    await note_touched(conn, branch, [str(r["table_name"]) for r in rows])


async def repair_branch(
    conn: AsyncConnection,
    tenant_id: str,
    project_id: str,
    branch: str,
    *,
    message: str,
    author: str,
) -> str | None:
    """Re-scan the branch, record every mismatching key and commit: the commit id
    (None when nothing mismatched). Call it inside a write transaction; the branch is
    locked first, so no other commit on it interleaves."""
    where = Branch(tenant_id, project_id, branch)
    if not await _lock_and_record(conn, where):
        return None
    return await commit_branch(conn, where, message=message, author=author)


async def _lock_and_record(conn: AsyncConnection, branch: Branch) -> list[Mismatch]:
    # Lock the branch (no commit on it interleaves), re-scan it and record every
    # mismatching key for the commit that follows; the mismatches.
    await lock_branch(conn, branch)
    found = await verify_branch(conn, branch.tenant_id, branch.project_id, branch.name)
    await record_mismatches(conn, branch, found)
    return found


async def rehash_heads(conn: AsyncConnection, *, message: str, author: str) -> list[str]:
    """After a schema change: bring every branch's head manifest back to its rows.

    Materialised copies of tags and commits are dropped (they are caches the migration
    may have rewritten; the next read rebuilds them from the stored images), then
    every user branch is re-scanned and what the migration changed — row images that
    now hash differently, rows a data migration wrote — is committed, one commit per
    changed branch; the commit ids. Call it in the migration's write transaction."""
    listed = await conn.execute(
        select(
            branches.c.tenant_id, branches.c.project_id, branches.c.branch, branches.c.internal
        ).order_by(branches.c.tenant_id, branches.c.project_id, branches.c.branch)
    )
    for tenant_id, project_id, name, internal in listed.all():
        branch = Branch(str(tenant_id), str(project_id), str(name))
        if internal:
            await drop_branch_rows(conn, branch, cascades=False)
            continue
        await _lock_and_record(conn, branch)
    return await commit_changes(conn, None, message=message, author=author)


# --------------------------------------------------------------------------- public


async def _head(conn: AsyncConnection, branch: Branch) -> str | None:
    stmt = select(branches.c.head).where(branch.where(branches))
    head = (await conn.execute(stmt)).scalar_one_or_none()
    return None if head is None else str(head)


async def _project_exists(conn: AsyncConnection, branch: Branch) -> bool:
    projects = versioned_by_name()["projects"].table
    stmt = select(projects.c.id).where(
        and_(
            projects.c.tenant_id == branch.tenant_id,
            projects.c.id == branch.project_id,
            projects.c.branch == branch.name,
        )
    )
    return (await conn.execute(stmt)).first() is not None


async def _known(conn: AsyncConnection, branch: Branch) -> str | None:
    # The branch's head; NotFound when it has neither history nor a project row.
    head = await _head(conn, branch)
    if head is None and not await _project_exists(conn, branch):
        raise NotFound(
            f"no branch {branch.name!r} in project {branch.project_id!r}",
            resource="branch",
            key={"project_id": branch.project_id, "branch": branch.name},
        )
    return head


def verify(manage: Db) -> Callable[..., Awaitable[Verification]]:
    """Curried: re-scan the branch ``scopes`` names (its ref) against its head
    manifest, in one snapshot; ``NotFound`` when there is no such branch."""

    async def _verify(*, scopes: ProjectScope) -> Verification:
        async with reading(manage, scopes, snapshot=True) as access:
            branch = Branch(scopes.tenant_id, scopes.project_id, access.target.branch)
            head = await _known(access.conn, branch)
            found, rows = await _scan(access.conn, branch)
        return Verification(
            tenant_id=branch.tenant_id,
            project_id=branch.project_id,
            branch=branch.name,
            head=head,
            rows=rows,
            mismatches=found,
        )

    return _verify


def repair(manage: Db) -> Callable[..., Awaitable[Repair]]:
    """Curried: re-scan the branch ``scopes`` names and commit every mismatching row
    as it is now, in one transaction (one commit with ``message`` by ``author``; none
    when nothing mismatched). ``NotFound`` when there is no such branch.

    Given a writing ``Unit``, the repair joins it and commits with it (``commit`` is
    then None: the unit's ``commits`` name it once the unit has finished)."""

    async def _repair(
        *, scopes: ProjectScope, message: str = DEFAULT_MESSAGE, author: str | None = None
    ) -> Repair:
        if isinstance(manage, Unit) and manage.writes:
            return await _record(manage, scopes, message=message, author=author)
        async with transaction(manage, author=author, message=message) as unit:
            found = await _record(unit, scopes, message=message, author=author)
        # The write door committed what was recorded as the transaction ended.
        return found.model_copy(update={"commit": unit.commits[0] if unit.commits else None})

    return _repair


async def _record(unit: Unit, scopes: ProjectScope, *, message: str, author: str | None) -> Repair:
    # Record every mismatching key in the unit; its end commits them.
    async with writing(unit, scopes, author=author, message=message) as access:
        branch = Branch(scopes.tenant_id, scopes.project_id, access.target.branch)
        await _known(access.conn, branch)
        found = await _lock_and_record(access.conn, branch)
    return Repair(
        tenant_id=branch.tenant_id,
        project_id=branch.project_id,
        branch=branch.name,
        commit=None,
        repaired=found,
    )
