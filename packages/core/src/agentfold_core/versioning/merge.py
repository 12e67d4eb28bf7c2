"""Merge, merge preview, revert and reset of branches.

**Merge** (``merge``) of ``from_ref`` ("theirs") into a branch ("ours"):

- *up to date* when theirs is an ancestor of ours (nothing happens);
- *fast-forward* when ours is an ancestor of theirs: the rows become theirs and the
  branch head moves to their commit (no new commit);
- otherwise a three-way merge against the merge base (the common ancestor of highest
  generation, over first and merge parents): row by row, then column by column, and
  inside JSON objects key by key (different keys edited on both sides merge; the same
  key set to different values, or an array edited on both sides, conflicts). Both
  sides' automatic timestamps never conflict: ``created_at`` keeps the earliest,
  ``updated_at`` the latest. The result is written to the working rows, verified
  (``apply.ApplyFailed`` when a foreign-key cascade would drop or change a row the
  result keeps: the transaction rolls back whole) and committed with two parents.

Conflicts (``RowConflict``: modify/modify with the columns, modify/delete,
delete/modify, add/add, each with the base, ours and theirs rows) are resolved per
row by ``resolutions``: ``"ours"``, ``"theirs"`` or a custom row (a dict of columns
laid over ours; theirs when ours deleted it). Any conflict left unresolved raises
``MergeConflict`` carrying the list, and nothing changes. ``merge_preview`` reports
the same without writing, with both heads: a merge given ``expected_heads`` refuses
(``Conflict``, stale preview) when either moved since.

**Revert** (``revert``) makes a new commit undoing one commit's changes (against its
first parent) while keeping later ones: a three-way merge whose base is the commit,
theirs its first parent (only the keys it changed) and ours the branch head.

**Reset** (``reset``) is ``git reset --hard``: the branch head becomes the commit a ref
names and its rows become that commit's manifest. No commit is made; the commits after
it stay in history (reachable by id, tags, other branches).

Each operation is one write transaction through the write door; it commits (or moves
the head) itself and leaves no recorded key, so the door's automatic commit finds
nothing to add.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import (
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    literal,
    select,
    union_all,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from agentfold_core.data_access.doors import Db, reading, writing
from agentfold_core.db.prepared import Prepared, prepare, run, run_batch, string_binds
from agentfold_core.errors import Conflict, InvalidRef, NotFound, field_error
from agentfold_core.scopes import ProjectScope
from agentfold_core.versioning.apply import (
    Applied,
    apply_manifest,
    ensure_clean,
    move_head,
)
from agentfold_core.versioning.commit import (
    Branch,
    Key,
    commit_batch,
    current_author,
    lock_branch,
    new_commit_id,
)
from agentfold_core.versioning.diff import (
    Manifest,
    Row,
    head_difference,
    head_manifest,
    row_image,
    versioned_table,
)
from agentfold_core.versioning.history import branch_at, manifest_at, resolve_ref
from agentfold_core.versioning.past_rows import load_images
from agentfold_core.versioning.rows import SEPARATOR
from agentfold_core.versioning.tables import HASH_LENGTH, changes, commits

ConflictKind = Literal["modify/modify", "modify/delete", "delete/modify", "add/add"]
Resolution = Literal["ours", "theirs"] | dict[str, Any]
# A conflict is addressed by ``(table, row key)`` or ``"table:row key"``.
ResolutionKey = tuple[str, str] | str
Resolutions = Mapping[ResolutionKey, Resolution]

# Timestamps set by the data layer on every write: never a conflict.
_EARLIEST, _LATEST = "created_at", "updated_at"


class RowConflict(BaseModel):
    """One row both sides changed in ways that cannot be merged."""

    table: str
    row_key: str
    kind: ConflictKind
    # The columns in conflict (modify/modify, add/add), and where inside each: the
    # column, or ``column.key.key`` inside a JSON object.
    columns: list[str] = []
    paths: list[str] = []
    base: Row | None = None
    ours: Row | None = None
    theirs: Row | None = None


class MergeConflict(Conflict):
    """The merge (or revert) has unresolved conflicts; nothing was changed."""

    def __init__(self, message: str, conflicts: list[RowConflict], **context: Any) -> None:
        super().__init__(message, conflicts=[c.model_dump() for c in conflicts], **context)
        self.conflicts = conflicts


class MergeResult(BaseModel):
    """What a merge, revert or reset did."""

    # The new head of the branch (the new commit, the commit fast-forwarded or reset
    # to, or the unchanged head when up to date or nothing changed).
    commit_id: str
    base: str | None = None
    fast_forward: bool = False
    up_to_date: bool = False
    committed: bool = False
    rows: int = 0  # working rows written


class MergePreview(BaseModel):
    """What merging ``theirs`` into ``ours`` would do, and the heads it was read at."""

    ours: str
    theirs: str
    base: str | None
    up_to_date: bool
    fast_forward: bool
    conflicts: list[RowConflict]
    rows: int  # working rows the merge would write (as resolved)


# --------------------------------------------------------------------------- merge base


@dataclass(frozen=True, slots=True)
class MergeBase:
    """The best common ancestor of two commits, its generation and that of the commit
    merged in (a merge commit's second parent)."""

    commit_id: str
    generation: int
    theirs_generation: int


def _base_statement() -> Select[Any]:
    # The merge base of k_ours and k_theirs, its generation and k_theirs' generation.
    c = commits
    tenant, project = string_binds("tenant", "project")
    in_project = and_(c.c.tenant_id == tenant, c.c.project_id == project)
    edges = union_all(
        select(c.c.id.label("child"), c.c.parent_id.label("parent")).where(
            in_project, c.c.parent_id.is_not(None)
        ),
        select(c.c.id, c.c.merge_parent_id).where(in_project, c.c.merge_parent_id.is_not(None)),
    ).cte("edges")

    def ancestors(start: str, name: str) -> Any:
        seed = select(cast(bindparam(start), String(HASH_LENGTH)).label("id")).cte(
            name, recursive=True
        )
        return seed.union(select(edges.c.parent).join(seed, edges.c.child == seed.c.id))

    mine, other = ancestors("k_ours", "ours_ancestors"), ancestors("k_theirs", "theirs_ancestors")
    theirs_generation = (
        select(c.c.generation).where(in_project, c.c.id == bindparam("k_theirs")).scalar_subquery()
    )
    return (
        select(c.c.id, c.c.generation, theirs_generation)
        .join(mine, mine.c.id == c.c.id)
        .join(other, other.c.id == c.c.id)
        .where(in_project)
        .order_by(c.c.generation.desc(), c.c.id)
        .limit(1)
    )


def _since_statement() -> Select[Any]:
    # The first-parent chains from k_ours and k_theirs back to the commit whose parent
    # is k_base (or whose generation is not above k_generation), each commit's changes.
    c, ch = commits, changes
    tenant, project = string_binds("tenant", "project")
    in_project = and_(c.c.tenant_id == tenant, c.c.project_id == project)
    ours, theirs, base = string_binds("ours", "theirs", "base")
    ours_side = case((c.c.id == ours, literal(0)), else_=literal(1))
    chain = (
        select(
            ours_side.label("side"),
            c.c.id,
            c.c.parent_id,
            cast(literal(0), Integer).label("step"),
        )
        .where(in_project, c.c.id.in_([ours, theirs]), c.c.id != base)
        .cte("chain", recursive=True)
    )
    chain = chain.union_all(
        select(chain.c.side, c.c.id, c.c.parent_id, cast(chain.c.step + 1, Integer))
        .join(chain, c.c.id == chain.c.parent_id)
        .where(
            in_project,
            chain.c.parent_id != base,
            c.c.generation > bindparam("k_generation", type_=Integer),
        )
    )
    return select(
        chain.c.side,
        chain.c.step,
        chain.c.parent_id,
        ch.c.table_name,
        ch.c.row_key,
        ch.c.before_hash,
        ch.c.after_hash,
    ).outerjoin(
        ch,
        and_(ch.c.tenant_id == tenant, ch.c.project_id == project, ch.c.commit_id == chain.c.id),
    )


@cache
def _statements(dialect: Dialect) -> dict[str, Prepared]:
    return {
        "base": prepare(_base_statement(), dialect),
        "since": prepare(_since_statement(), dialect),
    }


async def merge_base(
    conn: AsyncConnection, tenant_id: str, project_id: str, ours: str, theirs: str
) -> MergeBase | None:
    """The best common ancestor of two commits: of the commits both reach through first
    and merge parents, the one of highest generation (None: unrelated histories)."""
    values = {"k_tenant": tenant_id, "k_project": project_id, "k_ours": ours, "k_theirs": theirs}
    found = await run(conn, _statements(conn.dialect)["base"], values)
    if not found:
        return None
    commit_id, generation, theirs_generation = found[0]
    return MergeBase(str(commit_id), int(generation), int(theirs_generation))


async def changed_since(
    conn: AsyncConnection, branch: Branch, heads: tuple[str, str], base: MergeBase
) -> tuple[Manifest, Manifest, Manifest] | None:
    """``(base, ours, theirs)`` entries of every key the commits between ``base`` and
    each head changed, from their change sets alone, when ``base`` lies on both heads'
    first-parent chains (None otherwise: a merge reached it only through a merge
    parent)."""
    # Each change set is against the first parent, so along a first-parent chain a
    # key's earliest change holds its value at the base and its latest the head's.
    base_id = base.commit_id
    values = {
        "k_tenant": branch.tenant_id,
        "k_project": branch.project_id,
        "k_ours": heads[0],
        "k_theirs": heads[1],
        "k_base": base_id,
        "k_generation": base.generation,
    }
    rows = await run(conn, _statements(conn.dialect)["since"], values)
    # side -> the deepest step and its parent; key -> (step, hash) of the earliest
    # before and of the latest after, per side.
    deepest: dict[int, tuple[int, str | None]] = {}
    before: dict[Key, tuple[int, str | None]] = {}
    after: list[dict[Key, tuple[int, str | None]]] = [{}, {}]
    for side, step, parent, table, row_key, old, new in rows:
        if side not in deepest or step > deepest[side][0]:
            deepest[side] = (step, None if parent is None else str(parent))
        if table is None:
            continue
        key = (str(table), str(row_key))
        if key not in before or step > before[key][0]:
            before[key] = (step, None if old is None else str(old))
        latest = after[side]
        if key not in latest or step < latest[key][0]:
            latest[key] = (step, None if new is None else str(new))
    if any(parent != base_id for _, parent in deepest.values()):
        return None
    base_manifest = {k: h for k, (_, h) in before.items() if h is not None}

    def side_manifest(side: int) -> Manifest:
        found = {**base_manifest}
        for key, (_, row_hash) in after[side].items():
            if row_hash is None:
                found.pop(key, None)
            else:
                found[key] = row_hash
        return found

    return base_manifest, side_manifest(0), side_manifest(1)


# --------------------------------------------------------------------------- three-way


class _Missing:
    """A JSON key or column absent on one side."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def _merge_value(base: Any, ours: Any, theirs: Any, path: str, clashes: list[str]) -> Any:
    # Three-way merge of one value; JSON objects key by key. Conflicting paths are
    # appended to ``clashes`` (ours is kept there).
    if ours == theirs or theirs == base:
        return ours
    if ours == base:
        return theirs
    if isinstance(base, dict) and isinstance(ours, dict) and isinstance(theirs, dict):
        merged: dict[str, Any] = {}
        for key in sorted(base.keys() | ours.keys() | theirs.keys()):
            value = _merge_value(
                base.get(key, MISSING),
                ours.get(key, MISSING),
                theirs.get(key, MISSING),
                f"{path}.{key}",
                clashes,
            )
            if value is not MISSING:
                merged[key] = value
        return merged
    clashes.append(path)
    return ours


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return value if isinstance(value, datetime) else None


def merge_rows(base: Row | None, ours: Row, theirs: Row) -> tuple[Row, list[str]]:
    """Column-level (and JSON key-level) merge of two versions of a row; the paths in
    conflict."""
    old = base or {}
    merged: Row = {}
    clashes: list[str] = []
    for column in sorted(old.keys() | ours.keys() | theirs.keys()):
        b, o, t = old.get(column, MISSING), ours.get(column, MISSING), theirs.get(column, MISSING)
        if column in (_EARLIEST, _LATEST) and o != t and o != b and t != b:
            mine, other = _timestamp(o), _timestamp(t)
            if mine is not None and other is not None:
                later = other > mine
                merged[column] = t if later == (column == _LATEST) else o
                continue
        value = _merge_value(b, o, t, column, clashes)
        if value is not MISSING:
            merged[column] = value
    return merged, clashes


@dataclass(slots=True)
class ThreeWay:
    """The result of a three-way merge of manifests."""

    result: Manifest
    conflicts: list[RowConflict] = field(default_factory=list)
    data: dict[str, Row] = field(default_factory=dict)  # images of new rows, by hash


def _resolution_key(key: ResolutionKey) -> Key:
    if isinstance(key, tuple):
        return key
    table, _, row_key = key.partition(":")
    return table, row_key


def _custom_row(table: str, row_key: str, over: Row | None, custom: Mapping[str, Any]) -> Row:
    versioned = versioned_table(table)
    row: Row = {**(over or {}), **custom}
    row.update(versioned.key_values(row_key))
    return row


async def three_way(
    conn: AsyncConnection,
    tenant_id: str,
    project_id: str,
    base: Mapping[Key, str],
    ours: Mapping[Key, str],
    theirs: Mapping[Key, str],
    resolutions: Resolutions | None = None,
) -> ThreeWay:
    """Merge ``theirs`` into ``ours`` against ``base`` (manifests); conflicts that
    ``resolutions`` does not settle are reported, not raised."""
    chosen = {_resolution_key(k): v for k, v in (resolutions or {}).items()}
    keys = sorted(
        k
        for k in base.keys() | ours.keys() | theirs.keys()
        if ours.get(k) != theirs.get(k) and base.get(k) != theirs.get(k)
    )
    both = [k for k in keys if base.get(k) != ours.get(k)]
    data = await load_images(
        conn,
        tenant_id,
        project_id,
        [h for k in both for h in (base.get(k), ours.get(k), theirs.get(k))],
    )
    out = ThreeWay(result=dict(ours))

    def take(key: Key, row_hash: str | None) -> None:
        if row_hash is None:
            out.result.pop(key, None)
        else:
            out.result[key] = row_hash

    def write(key: Key, row: Row) -> None:
        row_hash, _ = row_image(versioned_table(key[0]), row)
        out.data[row_hash] = row
        out.result[key] = row_hash

    for key in keys:
        b, o, t = base.get(key), ours.get(key), theirs.get(key)
        if b == o:  # only theirs changed it
            take(key, t)
            continue
        bd, od, td = (None if h is None else data[h] for h in (b, o, t))
        paths: list[str] = []
        kind: ConflictKind
        if od is None:
            kind = "delete/modify"
        elif td is None:
            kind = "modify/delete"
        else:
            merged, paths = merge_rows(bd, od, td)
            if not paths:
                write(key, merged)
                continue
            kind = "add/add" if bd is None else "modify/modify"
        choice = chosen.get(key)
        if choice == "ours":
            continue
        if choice == "theirs":
            take(key, t)
            continue
        if isinstance(choice, dict):
            write(key, _custom_row(key[0], key[1], od if od is not None else td, choice))
            continue
        columns = sorted({p.split(".", 1)[0] for p in paths})
        out.conflicts.append(
            RowConflict(
                table=key[0],
                row_key=key[1],
                kind=kind,
                columns=columns,
                paths=paths,
                base=bd,
                ours=od,
                theirs=td,
            )
        )
    return out


def _raise_conflicts(conflicts: list[RowConflict], what: str, branch: Branch) -> None:
    if not conflicts:
        return
    named = ", ".join(
        f"{c.table} {c.row_key.replace(SEPARATOR, '/')!r} ({c.kind})" for c in conflicts[:10]
    )
    raise MergeConflict(
        f"{what} has {len(conflicts)} unresolved conflicts: {named}",
        conflicts,
        resource="branch",
        key={"project_id": branch.project_id, "branch": branch.name},
    )


# --------------------------------------------------------------------------- committing


async def _generation(conn: AsyncConnection, branch: Branch, commit_id: str) -> int:
    found = await conn.execute(
        select(commits.c.generation).where(branch.project(commits), commits.c.id == commit_id)
    )
    return int(found.scalar_one())


async def _commit(
    conn: AsyncConnection,
    branch: Branch,
    parent: tuple[str, int, int],
    applied: Applied,
    *,
    message: str,
    author: str,
    merge_parent: tuple[str, int] | None = None,
) -> str:
    """Commit what apply wrote (the changes it verified against the result), with a
    merge parent when given; the recorded keys are cleared."""
    found = applied.recorded
    moved = [] if found is None else found.moved
    commit_id = new_commit_id()
    batch = commit_batch(
        conn.dialect,
        branch,
        commit_id=commit_id,
        parent=parent,
        merge_parent=merge_parent,
        moved=moved,
        found={} if found is None else found.images,
        message=message,
        author=author,
    )
    await run_batch(conn, batch)
    return commit_id


async def _locked(conn: AsyncConnection, branch: Branch) -> tuple[str, int, int]:
    parent = await lock_branch(conn, branch)
    if parent is None:
        raise NotFound(
            f"no branch {branch.name!r} in project {branch.project_id!r}",
            resource="branch",
            key={"project_id": branch.project_id, "branch": branch.name},
        )
    return parent


# --------------------------------------------------------------------------- planning


@dataclass(slots=True)
class _Plan:
    # ``current`` and ``target`` name the same keys, those the merge may change.
    ours: str
    theirs: str
    base: str | None
    up_to_date: bool
    fast_forward: bool
    current: Manifest
    target: Manifest
    merged: ThreeWay | None
    theirs_generation: int | None = None


async def _apart(conn: AsyncConnection, branch: Branch, theirs: str) -> tuple[Manifest, Manifest]:
    # The entries where the branch head and commit ``theirs`` differ (each side's
    # part): compared in the database when a branch stands at ``theirs``.
    tenant, project = branch.tenant_id, branch.project_id
    other = await branch_at(conn, tenant, project, theirs)
    if other is not None:
        return await head_difference(conn, branch, Branch(tenant, project, other))
    current = await head_manifest(conn, branch)
    target = await manifest_at(conn, tenant, project, theirs)
    keys = {k for k in current.keys() | target.keys() if current.get(k) != target.get(k)}
    return (
        {k: h for k, h in current.items() if k in keys},
        {k: h for k, h in target.items() if k in keys},
    )


async def _plan(
    conn: AsyncConnection,
    branch: Branch,
    ours: str,
    from_ref: str,
    resolutions: Resolutions | None,
) -> _Plan:
    # The manifests of a plan name only the keys where the two heads differ: a merge
    # reads and compares what changed, not the whole project.
    tenant, project = branch.tenant_id, branch.project_id
    theirs = (await resolve_ref(conn, tenant, project, from_ref)).commit_id
    found = await merge_base(conn, tenant, project, ours, theirs)
    base = None if found is None else found.commit_id
    if base == theirs:
        return _Plan(ours, theirs, base, True, False, {}, {}, None)
    since = None if found is None else await changed_since(conn, branch, (ours, theirs), found)
    if since is not None:
        base_manifest, current, target = since
    else:
        current, target = await _apart(conn, branch, theirs)
    if base == ours:
        return _Plan(ours, theirs, base, False, True, current, target, None)
    if since is None:
        keys = current.keys() | target.keys()
        base_manifest = {} if base is None else await manifest_at(conn, tenant, project, base, keys)
    merged = await three_way(conn, tenant, project, base_manifest, current, target, resolutions)
    generation = None if found is None else found.theirs_generation
    return _Plan(ours, theirs, base, False, False, current, merged.result, merged, generation)


def _changed(plan: _Plan) -> int:
    keys = plan.target.keys() | plan.current.keys()
    return sum(1 for k in keys if plan.target.get(k) != plan.current.get(k))


# --------------------------------------------------------------------------- operations


def _branch(scopes: ProjectScope, name: str) -> Branch:
    return Branch(scopes.tenant_id, scopes.project_id, name)


def merge_preview(manage: Db) -> Callable[..., Awaitable[MergePreview]]:
    """Curried: what merging ``from_ref`` into branch ``scopes.ref`` would do (fast
    forward or not, the conflicts left by ``resolutions``), with both heads, to pass as
    ``expected_heads`` to ``merge``."""

    async def _preview(
        *, scopes: ProjectScope, from_ref: str, resolutions: Resolutions | None = None
    ) -> MergePreview:
        async with reading(manage, scopes, snapshot=True) as access:
            conn = access.conn
            branch = _branch(scopes, access.target.branch)
            ours = await resolve_ref(conn, branch.tenant_id, branch.project_id, branch.name)
            plan = await _plan(conn, branch, ours.commit_id, from_ref, resolutions)
        return MergePreview(
            ours=plan.ours,
            theirs=plan.theirs,
            base=plan.base,
            up_to_date=plan.up_to_date,
            fast_forward=plan.fast_forward,
            conflicts=[] if plan.merged is None else plan.merged.conflicts,
            rows=_changed(plan),
        )

    return _preview


def merge(manage: Db) -> Callable[..., Awaitable[MergeResult]]:
    """Curried: merge ``from_ref`` into branch ``scopes.ref`` (see the module)."""

    async def _merge(
        *,
        scopes: ProjectScope,
        from_ref: str,
        resolutions: Resolutions | None = None,
        author: str | None = None,
        message: str | None = None,
        expected_heads: tuple[str, str] | None = None,
    ) -> MergeResult:
        async with writing(manage, scopes, author=author) as access:
            conn = access.conn
            branch = _branch(scopes, access.target.branch)
            parent = await _locked(conn, branch)
            await ensure_clean(conn, branch)
            plan = await _plan(conn, branch, parent[0], from_ref, resolutions)
            if expected_heads is not None and expected_heads != (plan.ours, plan.theirs):
                raise Conflict(
                    "stale preview: a head moved since the merge was previewed",
                    resource="branch",
                    key={"project_id": branch.project_id, "branch": branch.name},
                    expected={"ours": expected_heads[0], "theirs": expected_heads[1]},
                    found={"ours": plan.ours, "theirs": plan.theirs},
                )
            if plan.up_to_date:
                return MergeResult(commit_id=plan.ours, base=plan.base, up_to_date=True)
            if plan.fast_forward:
                written = await apply_manifest(conn, branch, plan.target, plan.current)
                await move_head(conn, branch, plan.theirs, plan.target, plan.current)
                return MergeResult(
                    commit_id=plan.theirs,
                    base=plan.base,
                    fast_forward=True,
                    rows=len(written.keys),
                )
            assert plan.merged is not None  # noqa: S101 - a three-way plan has its merge
            _raise_conflicts(plan.merged.conflicts, f"merging {from_ref!r}", branch)
            written = await apply_manifest(
                conn, branch, plan.target, plan.current, plan.merged.data
            )
            generation = plan.theirs_generation
            if generation is None:
                generation = await _generation(conn, branch, plan.theirs)
            commit_id = await _commit(
                conn,
                branch,
                parent,
                written,
                message=message or f"Merge {from_ref} into {branch.name}",
                author=author or access.unit.author or current_author(),
                merge_parent=(plan.theirs, generation),
            )
        return MergeResult(
            commit_id=commit_id, base=plan.base, committed=True, rows=len(written.keys)
        )

    return _merge


def revert(manage: Db) -> Callable[..., Awaitable[MergeResult]]:
    """Curried: a new commit on branch ``scopes.ref`` undoing the changes ``commit_ref``
    made against its first parent, keeping later changes; conflicts as for a merge."""

    async def _revert(
        *,
        scopes: ProjectScope,
        commit_ref: str,
        resolutions: Resolutions | None = None,
        author: str | None = None,
        message: str | None = None,
    ) -> MergeResult:
        async with writing(manage, scopes, author=author) as access:
            conn = access.conn
            branch = _branch(scopes, access.target.branch)
            parent = await _locked(conn, branch)
            await ensure_clean(conn, branch)
            tenant, project = branch.tenant_id, branch.project_id
            undone = (await resolve_ref(conn, tenant, project, commit_ref)).commit_id
            found = await conn.execute(
                select(commits.c.parent_id, commits.c.message).where(
                    branch.project(commits), commits.c.id == undone
                )
            )
            first_parent, undone_message = found.one()
            if first_parent is None:
                text = f"the root commit {undone[:12]} cannot be reverted"
                raise InvalidRef(text, errors=[field_error("commit_ref", text, "root_commit")])
            delta = await conn.execute(
                select(
                    changes.c.table_name,
                    changes.c.row_key,
                    changes.c.before_hash,
                    changes.c.after_hash,
                ).where(branch.project(changes), changes.c.commit_id == undone)
            )
            undo = [(str(t), str(k), b, a) for t, k, b, a in delta.all()]
            # Only the keys the commit changed can change back.
            ours = await head_manifest(conn, branch, [(t, k) for t, k, _, _ in undo])
            base, theirs = dict(ours), dict(ours)
            for table, row_key, before, after in undo:
                key = (table, row_key)
                base.pop(key, None)
                theirs.pop(key, None)
                if after is not None:
                    base[key] = str(after)
                if before is not None:
                    theirs[key] = str(before)
            merged = await three_way(conn, tenant, project, base, ours, theirs, resolutions)
            _raise_conflicts(merged.conflicts, f"reverting {undone[:12]}", branch)
            written = await apply_manifest(conn, branch, merged.result, ours, merged.data)
            if not written.keys:
                return MergeResult(commit_id=parent[0])
            commit_id = await _commit(
                conn,
                branch,
                parent,
                written,
                message=message or f'Revert "{undone_message}"',
                author=author or access.unit.author or current_author(),
            )
        return MergeResult(commit_id=commit_id, committed=True, rows=len(written.keys))

    return _revert


def reset(manage: Db) -> Callable[..., Awaitable[MergeResult]]:
    """Curried: ``git reset --hard`` of branch ``scopes.ref`` to ``to_ref``: its head
    becomes that commit and its rows that commit's manifest (no new commit)."""

    async def _reset(
        *, scopes: ProjectScope, to_ref: str, author: str | None = None
    ) -> MergeResult:
        async with writing(manage, scopes, author=author) as access:
            conn = access.conn
            branch = _branch(scopes, access.target.branch)
            await _locked(conn, branch)
            await ensure_clean(conn, branch)
            tenant, project = branch.tenant_id, branch.project_id
            commit_id = (await resolve_ref(conn, tenant, project, to_ref)).commit_id
            current = await head_manifest(conn, branch)
            target = await manifest_at(conn, tenant, project, commit_id)
            written = await apply_manifest(conn, branch, target, current)
            await move_head(conn, branch, commit_id, target, current)
        return MergeResult(commit_id=commit_id, rows=len(written.keys))

    return _reset
