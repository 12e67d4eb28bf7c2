"""History: refs resolved to commits, and the manifest of any commit.

A ref is a branch, a tag, a commit id (or a unique prefix of at least seven hex
digits), optionally followed by ``~N`` (N first parents back) or ``^`` (one back).
A past commit's manifest is the nearest snapshot on its first-parent chain plus the
latest change of each key along the way, read in two statements; given the keys an
operation needs (a merge's or revert's few rows), only their entries are read.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    Table,
    and_,
    bindparam,
    cast,
    func,
    literal,
    null,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import CTE

from agentfold_core.db.prepared import Prepared, prepare, run, string_binds
from agentfold_core.errors import NotFound
from agentfold_core.versioning.commit import Key
from agentfold_core.versioning.tables import branches, changes, commits, heads, snapshots, tags

MIN_PREFIX = 7
# Keys per statement when reading a manifest's entries for given keys; past this many
# keys in all the whole manifest is read and filtered (one index range beats many
# probes).
_KEYS_PER_STATEMENT = 400
_KEYS_AT_MOST = 2000
_SUFFIX = re.compile(r"(~\d*|\^)$")
_HEX = re.compile(r"^[0-9a-f]+$")


@dataclass(frozen=True, slots=True)
class Resolved:
    """What a ref names: a commit, and the branch when the ref is a branch's name."""

    commit_id: str
    branch: str | None = None


def _not_found(project_id: str, ref: str) -> NotFound:
    return NotFound(
        f"no ref {ref!r} in project {project_id!r}",
        resource="ref",
        key={"project_id": project_id, "ref": ref},
    )


def split_ref(ref: str) -> tuple[str, int]:
    """``(base, steps)``: ``main~3`` -> ``("main", 3)``, ``v1^^`` -> ``("v1", 2)``."""
    steps = 0
    while (match := _SUFFIX.search(ref)) is not None:
        suffix = match.group(1)
        steps += 1 if suffix in ("^", "~") else int(suffix[1:])
        ref = ref[: match.start()]
    return ref, steps


def _named_statement() -> Any:
    # The commit a branch (not an internal one) or a tag of that name points at, and
    # whether it is a branch (names are one namespace: at most one row).
    tenant, project, name = string_binds("tenant", "project", "name")
    b, t = branches, tags
    return union_all(
        select(b.c.head.label("commit_id"), literal(True).label("is_branch")).where(
            b.c.tenant_id == tenant,
            b.c.project_id == project,
            b.c.branch == name,
            b.c.internal.is_(False),
        ),
        select(t.c.commit_id, literal(False)).where(
            t.c.tenant_id == tenant, t.c.project_id == project, t.c.name == name
        ),
    )


def _standing_statement() -> Any:
    # A branch whose head is k_commit.
    b = branches
    tenant, project, commit = string_binds("tenant", "project", "commit")
    return (
        select(b.c.branch)
        .where(b.c.tenant_id == tenant, b.c.project_id == project, b.c.head == commit)
        .limit(1)
    )


def _walk_statement() -> Any:
    # The commit k_steps first parents back from k_start.
    c = commits
    tenant, project, start = string_binds("tenant", "project", "start")
    steps = bindparam("k_steps", type_=Integer)
    in_project = and_(c.c.tenant_id == tenant, c.c.project_id == project)
    walk = (
        select(c.c.id, c.c.parent_id, cast(literal(0), Integer).label("step"))
        .where(in_project, c.c.id == start)
        .cte("walk", recursive=True)
    )
    walk = walk.union_all(
        select(c.c.id, c.c.parent_id, cast(walk.c.step + 1, Integer))
        .join(walk, c.c.id == walk.c.parent_id)
        .where(in_project, walk.c.step < steps)
    )
    return select(walk.c.id).where(walk.c.step == steps)


@cache
def _statements(dialect: Dialect) -> dict[str, Prepared]:
    return {
        "named": prepare(_named_statement(), dialect),
        "walk": prepare(_walk_statement(), dialect),
        "past": prepare(_past_statement(), dialect),
        "standing": prepare(_standing_statement(), dialect),
    }


async def resolve_ref(conn: AsyncConnection, tenant_id: str, project_id: str, ref: str) -> Resolved:
    """The commit ``ref`` names in the project; ``NotFound`` naming the ref otherwise."""
    base, steps = split_ref(ref)
    scope = {"k_tenant": tenant_id, "k_project": project_id}
    statements = _statements(conn.dialect)
    named = await run(conn, statements["named"], {**scope, "k_name": base}, point=True)
    resolved: Resolved | None = None
    if named:
        commit_id, is_branch = max(named, key=lambda row: bool(row[1]))
        resolved = Resolved(str(commit_id), base if is_branch and steps == 0 else None)
    elif len(base) >= MIN_PREFIX and _HEX.match(base):
        found = (
            await conn.execute(
                select(commits.c.id)
                .where(
                    commits.c.tenant_id == tenant_id,
                    commits.c.project_id == project_id,
                    commits.c.id.startswith(base, autoescape=True),
                )
                .limit(2)
            )
        ).all()
        if len(found) == 1:
            resolved = Resolved(str(found[0][0]))
    if resolved is None:
        raise _not_found(project_id, ref)
    if steps == 0:
        return resolved
    walk = {**scope, "k_start": resolved.commit_id, "k_steps": steps}
    back = await run(conn, statements["walk"], walk)
    if not back:
        raise _not_found(project_id, ref)
    return Resolved(str(back[0][0]))


def snapshot_chain(tenant_id: Any, project_id: Any, commit_id: Any) -> CTE:
    """The first-parent chain from ``commit_id`` back to the nearest snapshot (or the
    root), each commit with ``step`` (0 for ``commit_id``); values or bound
    parameters."""
    c = commits
    c_project = and_(c.c.tenant_id == tenant_id, c.c.project_id == project_id)
    chain = (
        select(c.c.id, c.c.parent_id, c.c.snapshot, cast(literal(0), Integer).label("step"))
        .where(c_project, c.c.id == commit_id)
        .cte("chain", recursive=True)
    )
    return chain.union_all(
        select(c.c.id, c.c.parent_id, c.c.snapshot, cast(chain.c.step + 1, Integer))
        .join(chain, c.c.id == chain.c.parent_id)
        .where(c_project, chain.c.snapshot.is_(False))
    )


async def _entries(
    conn: AsyncConnection, statement: Select[Any], table: Table, keys: Collection[Key] | None
) -> list[tuple[Any, ...]]:
    # The rows of ``statement`` (over a table with ``table_name`` and ``row_key``) for
    # ``keys``, a chunk of keys per statement: all of them when ``keys`` is None or too
    # many to name (``_only`` filters).
    if keys is None or len(keys) > _KEYS_AT_MOST:
        chunks = [statement]
    else:
        ordered = sorted(keys)
        column = tuple_(table.c.table_name, table.c.row_key)
        chunks = [
            statement.where(column.in_(ordered[start : start + _KEYS_PER_STATEMENT]))
            for start in range(0, len(ordered), _KEYS_PER_STATEMENT)
        ]
    found: list[tuple[Any, ...]] = []
    for chunk in chunks:
        found.extend(tuple(r) for r in (await conn.execute(chunk)).all())
    return found


def _only(manifest: dict[Key, str], keys: Collection[Key] | None) -> dict[Key, str]:
    # Entries of a manifest read whole although keys were named.
    if keys is None or len(keys) <= _KEYS_AT_MOST:
        return manifest
    wanted = set(keys)
    return {k: h for k, h in manifest.items() if k in wanted}


async def branch_manifest(
    conn: AsyncConnection,
    tenant_id: str,
    project_id: str,
    branch: str,
    keys: Collection[Key] | None = None,
) -> dict[Key, str]:
    """``{(table, row key): row hash}`` of a branch's head commit (only ``keys``, when
    given: absent keys are not in the answer)."""
    if keys is not None and not keys:
        return {}
    h = heads
    stmt = select(h.c.table_name, h.c.row_key, h.c.row_hash).where(
        h.c.tenant_id == tenant_id, h.c.project_id == project_id, h.c.branch == branch
    )
    rows = await _entries(conn, stmt, h, keys)
    return _only({(str(t), str(k)): str(r) for t, k, r in rows}, keys)


async def branch_at(
    conn: AsyncConnection, tenant_id: str, project_id: str, commit_id: str
) -> str | None:
    """A branch whose head is ``commit_id`` (None: no branch stands there)."""
    values = {"k_tenant": tenant_id, "k_project": project_id, "k_commit": commit_id}
    found = await run(conn, _statements(conn.dialect)["standing"], values, point=True)
    return str(found[0][0]) if found else None


def _past_statement() -> Any:
    # All a past commit's whole manifest needs, in one statement: the change rows of
    # its chain back to the nearest snapshot (kind 0, with their step back), that
    # snapshot's entries (kind 1), and a row for the commit itself (kind 2: none when
    # there is no such commit).
    tenant, project, commit = string_binds("tenant", "project", "commit")
    chain = snapshot_chain(tenant, project, commit)
    ch, sn = changes, snapshots
    replay = (
        select(
            literal(0).label("kind"),
            chain.c.step,
            ch.c.table_name,
            ch.c.row_key,
            ch.c.after_hash.label("row_hash"),
        )
        .select_from(chain)
        .join(
            ch,
            and_(
                ch.c.tenant_id == tenant, ch.c.project_id == project, ch.c.commit_id == chain.c.id
            ),
        )
        .where(chain.c.snapshot.is_(False))
    )
    nearest = select(chain.c.id).where(chain.c.snapshot.is_(True)).scalar_subquery()
    snapshot = select(literal(1), literal(0), sn.c.table_name, sn.c.row_key, sn.c.row_hash).where(
        sn.c.tenant_id == tenant, sn.c.project_id == project, sn.c.commit_id == nearest
    )
    itself = select(literal(2), chain.c.step, null(), null(), null()).where(chain.c.step == 0)
    return union_all(replay, snapshot, itself)


def _replayed(
    manifest: dict[Key, str], replay: Iterable[tuple[int, Any, Any, Any]]
) -> dict[Key, str]:
    # ``manifest`` (a snapshot's) with the latest change of each key after it, given
    # ``(step back, table, row key, hash after)`` rows: the smallest step wins.
    latest: dict[Key, tuple[int, str | None]] = {}
    for step, table, row_key, after in replay:
        key = (str(table), str(row_key))
        if key not in latest or step < latest[key][0]:
            latest[key] = (step, None if after is None else str(after))
    for key, (_, after) in latest.items():
        if after is None:
            manifest.pop(key, None)
        else:
            manifest[key] = after
    return manifest


async def manifest_at(
    conn: AsyncConnection,
    tenant_id: str,
    project_id: str,
    commit_id: str,
    keys: Collection[Key] | None = None,
) -> dict[Key, str]:
    """``{(table, row key): row hash}`` of the project as of ``commit_id`` (only
    ``keys``, when given)."""
    branch = await branch_at(conn, tenant_id, project_id, commit_id)
    if branch is not None:
        # Some branch stands at this commit: its head manifest is the answer.
        return await branch_manifest(conn, tenant_id, project_id, branch, keys)
    if keys is None:
        values = {"k_tenant": tenant_id, "k_project": project_id, "k_commit": commit_id}
        rows = await run(conn, _statements(conn.dialect)["past"], values)
        if not any(kind == 2 for kind, *_ in rows):
            raise _not_found(project_id, commit_id)
        base = {(str(t), str(k)): str(h) for kind, _, t, k, h in rows if kind == 1}
        return _replayed(base, ((s, t, k, h) for kind, s, t, k, h in rows if kind == 0))
    chain = snapshot_chain(tenant_id, project_id, commit_id)
    links = (await conn.execute(select(chain.c.id, chain.c.snapshot, chain.c.step))).all()
    if not links:
        raise _not_found(project_id, commit_id)
    if not keys:
        return {}
    manifest: dict[Key, str] = {}
    snapshot = next((str(i) for i, is_snapshot, _ in links if is_snapshot), None)
    if snapshot is not None:
        sn = snapshots
        stmt = select(sn.c.table_name, sn.c.row_key, sn.c.row_hash).where(
            sn.c.tenant_id == tenant_id,
            sn.c.project_id == project_id,
            sn.c.commit_id == snapshot,
        )
        rows = await _entries(conn, stmt, sn, keys)
        manifest = {(str(t), str(k)): str(h) for t, k, h in rows}
    replay = [str(i) for i, is_snapshot, _ in links if not is_snapshot]
    step_of = {str(i): int(s) for i, _, s in links}
    ch = changes
    replayed = await _entries(
        conn,
        select(ch.c.commit_id, ch.c.table_name, ch.c.row_key, ch.c.after_hash).where(
            ch.c.tenant_id == tenant_id,
            ch.c.project_id == project_id,
            ch.c.commit_id.in_(replay),
        ),
        ch,
        keys,
    )
    steps = ((step_of[str(c)], t, k, h) for c, t, k, h in replayed)
    return _only(_replayed(manifest, steps), keys)


async def count_commits(conn: AsyncConnection, tenant_id: str, project_id: str) -> int:
    """How many commits the project has (all branches)."""
    stmt = select(func.count()).where(
        commits.c.tenant_id == tenant_id, commits.c.project_id == project_id
    )
    return int((await conn.execute(stmt)).scalar_one())
