"""Branches and tags of a project: create (from any ref), list, delete.

Branch and tag names share one namespace per project. A branch created from a clean
branch head copies its rows and head manifest inside the database (set-wise, one
statement per table); from a tag or a past commit its rows are rebuilt from the row
images of that commit's manifest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from functools import cache
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Dialect, and_, bindparam, delete, func, insert, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement

from agentfold_core.data_access.doors import Db, reading, writing
from agentfold_core.data_access.runtime.cascade import cascade_delete_by_branch
from agentfold_core.db.prepared import Prepared, prepare, run, run_batch, string_binds
from agentfold_core.db.types import utcnow
from agentfold_core.errors import Conflict, InvalidRef, field_error
from agentfold_core.scopes import DEFAULT_BRANCH, ProjectScope, check_branch
from agentfold_core.versioning.capture import capture_paused, pause_statements
from agentfold_core.versioning.commit import Branch, head_values
from agentfold_core.versioning.history import manifest_at, resolve_ref
from agentfold_core.versioning.materialise import drop_branch_rows, materialise, write_manifest
from agentfold_core.versioning.rows import versioned_tables
from agentfold_core.versioning.tables import branches, commits, dirty, heads, tags


class BranchInfo(BaseModel):
    """A branch and where it stands."""

    name: str
    head: str
    created_at: datetime
    # Commits reachable from this head and not from the default branch's, and the
    # other way round (through both parents); 0 and 0 for the default branch itself.
    ahead: int = 0
    behind: int = 0


class TagInfo(BaseModel):
    """A tag and the commit it names."""

    name: str
    commit_id: str
    author: str
    message: str | None
    created_at: datetime


@cache
def _checks(dialect: Dialect) -> dict[str, Prepared]:
    tenant, project, name = string_binds("tenant", "project", "name")
    taken = (
        select(literal(1))
        .where(branches.c.tenant_id == tenant, branches.c.project_id == project)
        .where(branches.c.branch == name)
        .union_all(
            select(literal(1)).where(
                tags.c.tenant_id == tenant, tags.c.project_id == project, tags.c.name == name
            )
        )
    )
    recorded = (
        select(literal(1))
        .where(dirty.c.tenant_id == tenant, dirty.c.project_id == project)
        .where(dirty.c.branch == name)
        .limit(1)
    )
    return {"taken": prepare(taken, dialect), "recorded": prepare(recorded, dialect)}


async def _name_taken(conn: AsyncConnection, tenant_id: str, project_id: str, name: str) -> bool:
    values = {"k_tenant": tenant_id, "k_project": project_id, "k_name": name}
    return bool(await run(conn, _checks(conn.dialect)["taken"], values, point=True))


def _check_new_name(name: str, field: str) -> str:
    check_branch(name, field)
    return name


async def _source_is_clean(conn: AsyncConnection, source: Branch) -> bool:
    values = {"k_tenant": source.tenant_id, "k_project": source.project_id, "k_name": source.name}
    return not await run(conn, _checks(conn.dialect)["recorded"], values, point=True)


@cache
def _new_branch(dialect: Dialect) -> Prepared:
    # The branch row standing at ``k_head``, whose generation and depth it reads.
    tenant, project, target, head = string_binds("tenant", "project", "target", "head")
    row = insert(branches).values(
        tenant_id=tenant,
        project_id=project,
        branch=target,
        **head_values(tenant, project, head),
        internal=False,
        created_at=bindparam("k_created_at", type_=branches.c.created_at.type),
    )
    return prepare(row, dialect)


@cache
def _copy_statements(dialect: Dialect) -> tuple[Prepared, ...]:
    # One INSERT ... SELECT per versioned table (parents first, so every foreign key
    # finds its row), then the head manifest.
    statements: list[ClauseElement] = []
    for versioned in versioned_tables():
        table = versioned.table
        columns = [c.name for c in table.columns]
        rows = select(
            *(bindparam("k_target").label(c) if c == "branch" else table.c[c] for c in columns)
        ).where(
            versioned.in_branch(
                bindparam("k_tenant"), bindparam("k_project"), bindparam("k_source")
            )
        )
        statements.append(insert(table).from_select(columns, rows))
    in_source = and_(
        heads.c.tenant_id == bindparam("k_tenant"),
        heads.c.project_id == bindparam("k_project"),
        heads.c.branch == bindparam("k_source"),
    )
    statements.append(
        insert(heads).from_select(
            ["tenant_id", "project_id", "branch", "table_name", "row_key", "row_hash"],
            select(
                heads.c.tenant_id,
                heads.c.project_id,
                bindparam("k_target"),
                heads.c.table_name,
                heads.c.row_key,
                heads.c.row_hash,
            ).where(in_source),
        )
    )
    # Capture of the new branch pauses around the copy: its rows are exactly the head.
    pause, resume = pause_statements(
        bindparam("k_tenant"), bindparam("k_project"), bindparam("k_target")
    )
    statements = [pause, *statements, resume]
    return tuple(prepare(stmt, dialect) for stmt in statements)


async def _copy_branch(
    conn: AsyncConnection, source: Branch, name: str, row: Mapping[str, Any]
) -> None:
    """Write the new branch's ``row`` and copy a clean branch's rows and head manifest
    to it, in one step (one thread hop on SQLite, one pipelined round trip on
    PostgreSQL)."""
    values = {
        "k_tenant": source.tenant_id,
        "k_project": source.project_id,
        "k_source": source.name,
        "k_target": name,
    }
    copies = [(p, [values]) for p in _copy_statements(conn.dialect)]
    await run_batch(conn, [(_new_branch(conn.dialect), [row]), *copies])


def create_branch(manage: Db) -> Callable[..., Awaitable[BranchInfo]]:
    """Curried: a new branch ``name`` at ``scopes.ref`` (a branch, tag, commit, ``~N``)."""

    async def _create(*, scopes: ProjectScope, name: str) -> BranchInfo:
        _check_new_name(name, "name")
        target_scope = scopes.at(name)
        async with writing(manage, target_scope, message=f"Create branch {name}") as access:
            conn = access.conn
            tenant, project = scopes.tenant_id, scopes.project_id
            if await _name_taken(conn, tenant, project, name):
                raise Conflict(
                    f"{name!r} already names a branch or tag of project {project!r}",
                    resource="branch",
                    key={"project_id": project, "name": name},
                )
            source = await resolve_ref(conn, tenant, project, scopes.ref)
            target = Branch(tenant, project, name)
            origin = Branch(tenant, project, source.branch or "")
            copy = source.branch is not None and await _source_is_clean(conn, origin)
            # The manifest is read before the new branch stands at the same commit.
            manifest = None if copy else await manifest_at(conn, tenant, project, source.commit_id)
            now = utcnow()
            row = {
                "k_tenant": tenant,
                "k_project": project,
                "k_target": name,
                "k_head": source.commit_id,
                "k_created_at": now,
            }
            # The copied rows are exactly the head: nothing is recorded, nothing to commit.
            if manifest is None:
                await _copy_branch(conn, origin, name, row)
            else:
                await run(conn, _new_branch(conn.dialect), row)
                async with capture_paused(conn, target):
                    await write_manifest(conn, target, manifest, heads_too=True)
        return BranchInfo(name=name, head=source.commit_id, created_at=now)

    return _create


def list_branches(manage: Db) -> Callable[..., Awaitable[list[BranchInfo]]]:
    """Curried: the project's branches by name, each with its head and how many commits
    it is ahead of and behind the default branch."""

    async def _list(*, scopes: ProjectScope) -> list[BranchInfo]:
        async with reading(manage, scopes, snapshot=True) as access:
            rows = await access.conn.execute(
                select(branches.c.branch, branches.c.head, branches.c.created_at)
                .where(
                    branches.c.tenant_id == scopes.tenant_id,
                    branches.c.project_id == scopes.project_id,
                    branches.c.internal.is_(False),
                )
                .order_by(branches.c.branch)
            )
            found = [BranchInfo(name=str(n), head=str(h), created_at=c) for n, h, c in rows.all()]
            main = next((b.head for b in found if b.name == DEFAULT_BRANCH), None)
            if main is None:
                return found
            counts = await _ahead_behind(access.conn, scopes, {b.head for b in found}, main)
        for info in found:
            info.ahead, info.behind = counts[info.head]
        return found

    return _list


async def _ahead_behind(
    conn: AsyncConnection, scopes: ProjectScope, starts: set[str], main: str
) -> dict[str, tuple[int, int]]:
    """For each commit in ``starts`` (``main`` among them): how many commits reachable
    from it are not reachable from ``main``, and the reverse. One recursive walk from
    all of them at once, counted in the database: only the counts travel."""
    c = commits
    in_project = (c.c.tenant_id == scopes.tenant_id, c.c.project_id == scopes.project_id)
    walk = (
        select(c.c.id.label("origin"), c.c.id, c.c.parent_id, c.c.merge_parent_id)
        .where(*in_project, c.c.id.in_(sorted(starts)))
        .cte("reach", recursive=True)
    )
    walk = walk.union(
        select(walk.c.origin, c.c.id, c.c.parent_id, c.c.merge_parent_id)
        .join(walk, or_(c.c.id == walk.c.parent_id, c.c.id == walk.c.merge_parent_id))
        .where(*in_project)
    )
    mine, mains = walk.alias("mine"), walk.alias("mains")
    stmt = (
        select(mine.c.origin, func.count(), func.count(mains.c.id))
        .select_from(mine.outerjoin(mains, and_(mains.c.origin == main, mains.c.id == mine.c.id)))
        .group_by(mine.c.origin)
    )
    sizes = {str(o): (int(total), int(shared)) for o, total, shared in await conn.execute(stmt)}
    main_size = sizes.get(main, (0, 0))[0]
    counts: dict[str, tuple[int, int]] = {}
    for start in starts:
        total, shared = sizes.get(start, (0, 0))
        counts[start] = (total - shared, main_size - shared)
    return counts


def delete_branch(manage: Db, runtime: Db) -> Callable[..., Awaitable[bool]]:
    """Curried: delete branch ``scopes.ref`` with its rows (never the default branch),
    then the runtime rows that ran against it; its commits stay reachable from other
    refs. Whether it existed."""

    async def _delete(*, scopes: ProjectScope) -> bool:
        name = scopes.ref
        if name == DEFAULT_BRANCH:
            message = f"the default branch {DEFAULT_BRANCH!r} cannot be deleted"
            raise InvalidRef(message, errors=[field_error("ref", message, "default_branch")])
        async with writing(manage, scopes, message=f"Delete branch {name}") as access:
            conn = access.conn
            target = Branch(scopes.tenant_id, scopes.project_id, name)
            found = await conn.execute(
                select(literal(1)).where(target.where(branches), branches.c.internal.is_(False))
            )
            if found.first() is None:
                return False
            await drop_branch_rows(conn, target)
        await cascade_delete_by_branch(runtime)(scopes=scopes)
        return True

    return _delete


def create_tag(manage: Db) -> Callable[..., Awaitable[TagInfo]]:
    """Curried: tag ``name`` on the commit ``scopes.ref`` names."""

    async def _create(
        *, scopes: ProjectScope, name: str, message: str | None = None, author: str = "agentfold"
    ) -> TagInfo:
        _check_new_name(name, "name")
        async with writing(manage, scopes.at(DEFAULT_BRANCH)) as access:
            conn = access.conn
            tenant, project = scopes.tenant_id, scopes.project_id
            if await _name_taken(conn, tenant, project, name):
                raise Conflict(
                    f"{name!r} already names a branch or tag of project {project!r}",
                    resource="tag",
                    key={"project_id": project, "name": name},
                )
            source = await resolve_ref(conn, tenant, project, scopes.ref)
            now = utcnow()
            await conn.execute(
                insert(tags).values(
                    tenant_id=tenant,
                    project_id=project,
                    name=name,
                    commit_id=source.commit_id,
                    author=author,
                    message=message,
                    created_at=now,
                )
            )
            # Read at once: the tag's rows are ready before anyone asks.
            await materialise(conn, tenant, project, source.commit_id)
        return TagInfo(
            name=name, commit_id=source.commit_id, author=author, message=message, created_at=now
        )

    return _create


def list_tags(manage: Db) -> Callable[..., Awaitable[list[TagInfo]]]:
    """Curried: the project's tags by name."""

    async def _list(*, scopes: ProjectScope) -> list[TagInfo]:
        async with reading(manage, scopes) as access:
            rows = await access.conn.execute(
                select(
                    tags.c.name, tags.c.commit_id, tags.c.author, tags.c.message, tags.c.created_at
                )
                .where(tags.c.tenant_id == scopes.tenant_id, tags.c.project_id == scopes.project_id)
                .order_by(tags.c.name)
            )
            return [TagInfo.model_validate(dict(r)) for r in rows.mappings()]

    return _list


def delete_tag(manage: Db) -> Callable[..., Awaitable[bool]]:
    """Curried: delete a tag; whether it existed."""

    async def _delete(*, scopes: ProjectScope, name: str) -> bool:
        async with writing(manage, scopes.at(DEFAULT_BRANCH)) as access:
            result = await access.conn.execute(
                delete(tags).where(
                    tags.c.tenant_id == scopes.tenant_id,
                    tags.c.project_id == scopes.project_id,
                    tags.c.name == name,
                )
            )
        return bool(result.rowcount)

    return _delete
