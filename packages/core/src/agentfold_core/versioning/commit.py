"""Committing: what the capture triggers recorded becomes a commit, inside the same
transaction as the writes.

The write door calls ``commit_changes`` at the end of every manage write transaction:
each branch the transaction touched gets one commit, whose parent is the branch head
read under a lock (commits on one branch serialise and never contain another writer's
rows); a transaction with no net change makes none; a branch's first commit (a new
project) is its root.

A commit costs its change, not the project: one statement reads the recorded keys
joined to their rows and head hashes; the images are hashed in Python; one batch
(a single thread hop on SQLite, one pipelined round trip on PostgreSQL) writes the
images, the commit, its changes, the head manifest and the branch.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Dialect,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from agentfold_core.db.json_text import loads
from agentfold_core.db.prepared import (
    Fetch,
    Prepared,
    Send,
    Steps,
    drive,
    prepare,
    run,
    run_many,
)
from agentfold_core.db.types import utcnow
from agentfold_core.errors import ReadOnlyRef, field_error
from agentfold_core.versioning.capture import TOUCHED, touched_entries
from agentfold_core.versioning.rows import VersionedTable, versioned_by_name
from agentfold_core.versioning.tables import (
    SNAPSHOT_EVERY,
    branches,
    changes,
    commits,
    dirty,
    heads,
    images,
    snapshots,
)

DEFAULT_AUTHOR = "agentfold"
_author: ContextVar[str] = ContextVar("agentfold_author", default=DEFAULT_AUTHOR)

Key = tuple[str, str]  # (table name, row key)


@contextmanager
def authored_by(author: str) -> Iterator[None]:
    """Commits made inside the block name ``author`` (unless a unit names its own)."""
    token = _author.set(author)
    try:
        yield
    finally:
        _author.reset(token)


def current_author() -> str:
    """The author commits are made by here."""
    return _author.get()


def new_commit_id() -> str:
    """A fresh commit id: 40 hex digits."""
    return os.urandom(20).hex()


@dataclass(frozen=True, slots=True)
class Change:
    """One row's change in a commit: its image hash before and after (None: absent)."""

    table: str
    row_key: str
    before: str | None
    after: str | None


@dataclass(frozen=True, slots=True)
class Branch:
    """Where a commit goes."""

    tenant_id: str
    project_id: str
    name: str

    def where(self, table: Any) -> ColumnElement[bool]:
        """The condition selecting this branch's rows of a version-control table."""
        return and_(
            table.c.tenant_id == self.tenant_id,
            table.c.project_id == self.project_id,
            table.c.branch == self.name,
        )

    def project(self, table: Any) -> ColumnElement[bool]:
        """The condition selecting this project's rows of a version-control table."""
        return and_(table.c.tenant_id == self.tenant_id, table.c.project_id == self.project_id)

    def params(self) -> dict[str, str]:
        """Bind values of the prepared statements below."""
        return {"k_tenant": self.tenant_id, "k_project": self.project_id, "k_branch": self.name}


def _in_branch(table: Any) -> ColumnElement[bool]:
    return and_(
        table.c.tenant_id == bindparam("k_tenant"),
        table.c.project_id == bindparam("k_project"),
        table.c.branch == bindparam("k_branch"),
    )


# --------------------------------------------------------------------------- statements


def _row_json(versioned: VersionedTable, dialect: str) -> ColumnElement[Any]:
    # Every column of the row as one JSON object.
    table = versioned.table
    pairs: list[Any] = []
    for name in versioned.data_columns:
        column: Any = table.c[name]
        if dialect == "sqlite" and name in versioned.json_columns:
            column = func.json(column)
        pairs += [literal_column(f"'{name}'"), column]
    builder = func.json_object if dialect == "sqlite" else func.json_build_object
    return builder(*pairs)


@cache
def _recorded(dialect: Dialect, table_name: str) -> Prepared:
    # The recorded keys of one table on a branch, each with its row (as JSON, NULL when
    # gone) and its head hash. Both are correlated subqueries, so each recorded key is one
    # probe of the row's and the manifest's primary key whatever the statistics say: as
    # joins, PostgreSQL planned a commit after a bulk import into young tables (believed
    # nearly empty) as a scan of the branch per recorded key, seconds for 10,000 rows.
    versioned = versioned_by_name()[table_name]
    table = versioned.table
    row = select(_row_json(versioned, dialect.name)).where(
        table.c.tenant_id == dirty.c.tenant_id,
        table.c[versioned.project_column] == dirty.c.project_id,
        table.c.branch == dirty.c.branch,
        *(
            table.c[column] == dirty.c[f"key_{n}"]
            for n, column in enumerate(versioned.key_columns, start=1)
        ),
    )
    head = select(heads.c.row_hash).where(
        heads.c.tenant_id == dirty.c.tenant_id,
        heads.c.project_id == dirty.c.project_id,
        heads.c.branch == dirty.c.branch,
        heads.c.table_name == dirty.c.table_name,
        heads.c.row_key == dirty.c.row_key,
    )
    stmt = select(
        dirty.c.row_key,
        head.scalar_subquery().label("row_hash"),
        row.scalar_subquery().label("row"),
    ).where(_in_branch(dirty), dirty.c.table_name == literal(versioned.name))
    return prepare(stmt, dialect)


@cache
def _statements(dialect: Dialect) -> dict[str, Prepared]:
    module = postgresql if dialect.name == "postgresql" else sqlite
    # The branch row, locked: its head and the head's generation and depth, which the
    # commit's parent needs (one row, by key; nothing else is looked up).
    lock = select(branches.c.head, branches.c.head_generation, branches.c.head_depth).where(
        _in_branch(branches)
    )
    if dialect.name == "postgresql":
        lock = lock.with_for_update()
    upsert_head = module.insert(heads)
    touched = select(
        dirty.c.tenant_id, dirty.c.project_id, dirty.c.branch, dirty.c.table_name
    ).distinct()
    order = (dirty.c.tenant_id, dirty.c.project_id, dirty.c.branch, dirty.c.table_name)
    statements = {
        "lock": lock,
        "has_history": select(literal(1))
        .where(
            branches.c.tenant_id == bindparam("k_tenant"),
            branches.c.project_id == bindparam("k_project"),
        )
        .limit(1),
        "touched": touched.order_by(*order),
        "touched_setting": select(func.current_setting(TOUCHED, True)),
        "touched_in_tenant": touched.where(dirty.c.tenant_id == bindparam("k_tenant")).order_by(
            *order
        ),
        "tables": select(dirty.c.table_name).where(_in_branch(dirty)).distinct(),
        "images": module.insert(images).on_conflict_do_nothing(),
        "commit": insert(commits),
        "changes": insert(changes),
        "drop_head": delete(heads).where(
            _in_branch(heads),
            heads.c.table_name == bindparam("k_table"),
            heads.c.row_key == bindparam("k_row"),
        ),
        "set_head": upsert_head.on_conflict_do_update(
            index_elements=[c.name for c in heads.primary_key.columns],
            set_={"row_hash": upsert_head.excluded.row_hash},
        ),
        "clear": delete(dirty).where(_in_branch(dirty)),
        "new_branch": insert(branches),
        "move_branch": update(branches)
        .where(_in_branch(branches))
        .values(
            head=bindparam("k_head"),
            head_generation=bindparam("k_generation"),
            head_depth=bindparam("k_depth"),
        ),
        "snapshot": insert(snapshots).from_select(
            ["tenant_id", "project_id", "commit_id", "table_name", "row_key", "row_hash"],
            select(
                heads.c.tenant_id,
                heads.c.project_id,
                bindparam("k_commit"),
                heads.c.table_name,
                heads.c.row_key,
                heads.c.row_hash,
            ).where(_in_branch(heads)),
        ),
    }
    if dialect.name == "postgresql":
        # A commit of one changed row, the most frequent (every single-row write), as
        # one statement: its writes are data-modifying CTEs of the last one (foreign
        # keys are checked at the statement's end), where the batch sends six, each
        # costing psycopg's client more than the server's work.
        written = [
            postgresql.insert(images).values(_fused_values(images)).on_conflict_do_nothing(),
            insert(commits).values(_fused_values(commits)),
            insert(changes).values(_fused_values(changes)),
            statements["move_branch"],
        ]
        head = postgresql.insert(heads).values(_fused_values(heads))
        set_head = head.on_conflict_do_update(
            index_elements=[c.name for c in heads.primary_key.columns],
            set_={"row_hash": head.excluded.row_hash},
        )
        statements["one_set"] = statements["clear"].add_cte(*_ctes(*written, set_head))
        statements["one_drop"] = statements["clear"].add_cte(
            *_ctes(*written[1:], statements["drop_head"])
        )
    return {name: prepare(stmt, dialect) for name, stmt in statements.items()}


def _fused_values(table: Table) -> dict[str, Any]:
    # Every column from a bind ``v_<column>``: the parts of a fused commit share the
    # binds they have in common (scope, table name, row key), which hold one value.
    return {c.name: bindparam(f"v_{c.name}", type_=c.type) for c in table.columns}


def _ctes(*parts: Any) -> list[Any]:
    return [part.cte(f"w_{n}") for n, part in enumerate(parts)]


def head_values(tenant_id: Any, project_id: Any, commit_id: Any) -> dict[str, Any]:
    """The values that make ``commit_id`` a branch row's head: its generation and depth
    are read from the commit by the statement that writes the row (values or bound
    parameters)."""

    def of(column: Any) -> Any:
        return (
            select(column)
            .where(
                commits.c.tenant_id == tenant_id,
                commits.c.project_id == project_id,
                commits.c.id == commit_id,
            )
            .scalar_subquery()
        )

    return {
        "head": commit_id,
        "head_generation": of(commits.c.generation),
        "head_depth": of(commits.c.depth),
    }


# --------------------------------------------------------------------------- reading state


@dataclass(frozen=True, slots=True)
class Recorded:
    """What a branch's recorded keys hold now against its head."""

    moved: list[Change]
    images: dict[str, str]  # hash -> image of the rows as they are now


async def recorded(
    conn: AsyncConnection, branch: Branch, tables: Sequence[str] | None = None
) -> Recorded | None:
    """The branch's changes since its head (None when nothing was recorded); ``tables``
    are the tables with recorded keys, when already known."""
    if tables is None:
        found_tables = await run(conn, _statements(conn.dialect)["tables"], branch.params())
        tables = sorted(str(t) for (t,) in found_tables)
    if not tables:
        return None
    reads = [(_recorded(conn.dialect, t), branch.params()) for t in tables]
    return _changes(conn.dialect, list(tables), await run_many(conn, reads))


def _changes(dialect: Dialect, tables: list[str], results: Sequence[list[Any]]) -> Recorded | None:
    if not tables:
        return None
    by_name = versioned_by_name()
    moved: list[Change] = []
    found: dict[str, str] = {}
    for table, rows in zip(tables, results, strict=True):
        prepared = _recorded(dialect, table)
        for raw in rows:
            row_key, before, data = prepared.row(raw).values()
            after: str | None = None
            if data is not None:
                row = loads(data) if isinstance(data, str) else data
                after, image = by_name[table].image_of_json(row)
                found[after] = image
            if before != after:
                moved.append(Change(table, str(row_key), before, after))
    moved.sort(key=lambda c: (c.table, c.row_key))
    return Recorded(moved, found)


async def uncommitted(conn: AsyncConnection, branch: Branch) -> list[Change]:
    """The branch's working changes against its head (none after any public write)."""
    found = await recorded(conn, branch)
    return [] if found is None else found.moved


# --------------------------------------------------------------------------- writing state


async def lock_branch(conn: AsyncConnection, branch: Branch) -> tuple[str, int, int] | None:
    """``(head, generation, depth)`` of the branch, locked until the transaction ends
    (None: no such branch yet)."""
    rows = await run(conn, _statements(conn.dialect)["lock"], branch.params())
    if not rows:
        return None
    head, generation, depth = rows[0]
    return str(head), int(generation), int(depth)


def _fused(values: Mapping[str, Any]) -> dict[str, Any]:
    return {f"v_{name}": value for name, value in values.items()}


def commit_batch(
    dialect: Dialect,
    branch: Branch,
    *,
    commit_id: str,
    parent: tuple[str, int, int] | None,
    merge_parent: tuple[str, int] | None = None,
    moved: Sequence[Change],
    found: Mapping[str, str],
    message: str,
    author: str,
) -> list[tuple[Prepared, list[Mapping[str, Any]]]]:
    """The statements that record a commit of ``moved`` and make it the branch head
    (the working rows are already as the commit says)."""
    s = _statements(dialect)
    scope = {"tenant_id": branch.tenant_id, "project_id": branch.project_id}
    keys = branch.params()
    generation = parent[1] + 1 if parent else 0
    depth = parent[2] + 1 if parent else 0
    if merge_parent is not None:
        generation = max(generation, merge_parent[1] + 1)
    snapshot = depth > 0 and depth % SNAPSHOT_EVERY == 0
    now = utcnow()
    commit = {
        **scope,
        "id": commit_id,
        "parent_id": parent[0] if parent else None,
        "merge_parent_id": merge_parent[0] if merge_parent else None,
        "generation": generation,
        "depth": depth,
        "snapshot": snapshot,
        "author": author,
        "message": message,
        "created_at": now,
    }
    image_rows: list[Mapping[str, Any]] = [
        {**scope, "hash": h, "data": d} for h, d in found.items()
    ]
    change_rows: list[Mapping[str, Any]] = [
        {
            **scope,
            "commit_id": commit_id,
            "table_name": c.table,
            "row_key": c.row_key,
            "before_hash": c.before,
            "after_hash": c.after,
        }
        for c in moved
    ]
    drop_rows: list[Mapping[str, Any]] = [
        {**keys, "k_table": c.table, "k_row": c.row_key} for c in moved if c.after is None
    ]
    set_rows: list[Mapping[str, Any]] = [
        {
            **scope,
            "branch": branch.name,
            "table_name": c.table,
            "row_key": c.row_key,
            "row_hash": c.after,
        }
        for c in moved
        if c.after is not None
    ]
    moved_to = {"k_head": commit_id, "k_generation": generation, "k_depth": depth}
    if (
        "one_set" in s
        and parent is not None
        and merge_parent is None
        and not snapshot
        and len(moved) == 1
        and set(found) <= {moved[0].after}
    ):
        # The whole commit in one statement (PostgreSQL): its parts' values share
        # their names and values (scope, table, row key, branch keys).
        fused = {**commit, **change_rows[0]}
        branch_values = {**keys, **moved_to}
        if moved[0].after is None:
            values = {**_fused(fused), **branch_values, **drop_rows[0]}
            return [(s["one_drop"], [values])]
        data = found.get(moved[0].after)
        if data is not None:
            values = {**_fused({**fused, **set_rows[0], "data": data}), **branch_values}
            values["v_hash"] = moved[0].after
            return [(s["one_set"], [values])]
    batch: list[tuple[Prepared, list[Mapping[str, Any]]]] = [
        (s["images"], image_rows),
        (s["commit"], [commit]),
        (s["changes"], change_rows),
    ]
    if parent is None:
        batch.append(
            (
                s["new_branch"],
                [
                    {
                        **scope,
                        "branch": branch.name,
                        "head": commit_id,
                        "head_generation": generation,
                        "head_depth": depth,
                        "internal": False,
                        "created_at": now,
                        "read_at": None,
                    }
                ],
            )
        )
    else:
        batch.append((s["move_branch"], [{**keys, **moved_to}]))
    batch += [(s["drop_head"], drop_rows), (s["set_head"], set_rows), (s["clear"], [keys])]
    if snapshot:
        batch.append((s["snapshot"], [{**keys, "k_commit": commit_id}]))
    return batch


Fetched = tuple[list[Any], dict[str, list[Any]]]  # a branch's locked head, its recorded rows


def _branch_reads(
    dialect: Dialect, branch: Branch, tables: Sequence[str]
) -> list[tuple[Prepared, Mapping[str, Any]]]:
    # The lock (with the parent), then the recorded rows of each table: each statement
    # starts once the one before, the lock, has finished.
    s = _statements(dialect)
    params = branch.params()
    return [(s["lock"], params), *((_recorded(dialect, t), params) for t in tables)]


def _fetched(tables: Sequence[str], answer: Sequence[list[Any]]) -> Fetched:
    locked, *rows = answer
    return locked, dict(zip(tables, rows, strict=True))


def _branch_steps(
    dialect: Dialect,
    branch: Branch,
    *,
    message: str,
    author: str,
    tables: Sequence[str] | None,
    fetched: Fetched | None = None,
) -> Steps[str | None]:
    # Commit what changed on ``branch`` since its head (None when nothing did), as a
    # conversation without I/O: the reads (unless already ``fetched``, with the
    # recorded rows of some tables), then one batch of writes.
    s = _statements(dialect)
    params = branch.params()
    if tables is None:
        listed = yield Fetch([(s["tables"], params)])
        tables = sorted(str(t) for (t,) in (listed or [[]])[0])
    if fetched is None:
        fetched = _fetched(tables, (yield Fetch(_branch_reads(dialect, branch, tables))) or [])
    locked, rows = fetched
    missing = [t for t in tables if t not in rows]
    if missing:
        more = yield Fetch([(_recorded(dialect, t), params) for t in missing])
        rows = {**rows, **dict(zip(missing, more or [], strict=True))}
    parent = None
    if locked:
        head, generation, depth = locked[0]
        parent = (str(head), int(generation), int(depth))
    if not any(rows[t] for t in tables):
        # Nothing recorded (any more): the keys were forgotten with their branch or
        # project in this transaction, though it touched them (``capture.TOUCHED``).
        return None
    found = _changes(dialect, list(tables), [rows[t] for t in tables])
    if found is None:
        return None
    if parent is None:
        history = yield Fetch([(s["has_history"], params)])
        if history and history[0]:
            # Only a new project's first commit makes a branch; anything else is a
            # write to a name that is not a branch (a tag, a commit id, nothing).
            text = f"{branch.name!r} is not a branch of project {branch.project_id!r}"
            raise ReadOnlyRef(text, errors=[field_error("ref", text, "read_only_ref")])
    if not found.moved and parent is not None:
        yield Send([(s["clear"], [params])])
        return None
    commit_id = new_commit_id()
    yield Send(
        commit_batch(
            dialect,
            branch,
            commit_id=commit_id,
            parent=parent,
            moved=found.moved,
            found=found.images,
            message=message,
            author=author,
        )
    )
    return commit_id


async def commit_branch(
    conn: AsyncConnection,
    branch: Branch,
    *,
    message: str,
    author: str,
    tables: Sequence[str] | None = None,
) -> str | None:
    """Commit what changed on ``branch`` since its head; None when nothing did."""
    steps = _branch_steps(conn.dialect, branch, message=message, author=author, tables=tables)
    return await drive(conn, steps)


Forecast = list[tuple[Branch, list[str]]]


def _forecast(
    tenant_id: str | None, expected: Mapping[tuple[str, str], Collection[str]]
) -> Forecast:
    by_name = versioned_by_name()
    return [
        (Branch(tenant_id, project, name), sorted(t for t in tables if t in by_name))
        for (project, name), tables in sorted(expected.items())
        if tenant_id is not None
    ]


def commit_reads(
    dialect: Dialect,
    tenant_id: str | None,
    expected: Mapping[tuple[str, str], Collection[str]],
) -> list[tuple[Prepared, Mapping[str, Any]]]:
    """The statements a commit of a unit begins with: the branches and tables it
    expects to have written, locked and read, then the look for what was recorded.
    Run after the unit's last write, their rows may be handed to ``commit_changes``
    (``read``) so that they travel with that write."""
    return _reads_of(dialect, tenant_id, _forecast(tenant_id, expected))


def _reads_of(
    dialect: Dialect, tenant_id: str | None, forecast: Forecast
) -> list[tuple[Prepared, Mapping[str, Any]]]:
    s = _statements(dialect)
    reads = [r for branch, tables in forecast for r in _branch_reads(dialect, branch, tables)]
    look: tuple[Prepared, Mapping[str, Any]]
    if dialect.name == "postgresql":
        # What the triggers listed as they wrote (``capture.TOUCHED``).
        look = (s["touched_setting"], {})
    elif tenant_id is None:
        look = (s["touched"], {})
    else:
        look = (s["touched_in_tenant"], {"k_tenant": tenant_id})
    return [*reads, look]


def _commit_steps(
    dialect: Dialect,
    tenant_id: str | None,
    *,
    message: str,
    author: str,
    expected: Mapping[tuple[str, str], Collection[str]],
    read: Sequence[list[Any]] | None = None,
) -> Steps[list[str]]:
    # The branches and tables the unit expects to have written are locked and read
    # with the look for what was recorded: one step (one round trip on PostgreSQL)
    # when the forecast holds, none when ``read`` already holds their rows; what the
    # forecast missed is read after.
    forecast = _forecast(tenant_id, expected)
    answer = read
    if answer is None:
        answer = (yield Fetch(_reads_of(dialect, tenant_id, forecast))) or []
    fetched: dict[Branch, Fetched] = {}
    at = 0
    for branch, tables in forecast:
        fetched[branch] = _fetched(tables, answer[at : at + 1 + len(tables)])
        at += 1 + len(tables)
    touched: dict[Branch, list[str]] = {}
    for tenant, project, name, table in _looked(dialect, answer[-1], tenant_id):
        touched.setdefault(Branch(tenant, project, name), []).append(table)
    made = []
    for branch, tables in touched.items():
        commit_id = yield from _branch_steps(
            dialect,
            branch,
            message=message,
            author=author,
            tables=tables,
            fetched=fetched.get(branch),
        )
        if commit_id is not None:
            made.append(commit_id)
    return made


def _looked(
    dialect: Dialect, rows: Sequence[Any], tenant_id: str | None
) -> list[tuple[str, str, str, str]]:
    # ``(tenant, project, branch, table)`` of every branch and table the transaction
    # wrote (of ``tenant_id``'s, when given), in order.
    if dialect.name != "postgresql":
        return [(str(t), str(p), str(b), str(n)) for t, p, b, n in rows]
    return touched_entries(str(rows[0][0] or "") if rows else "", tenant_id)


async def commit_changes(
    conn: AsyncConnection,
    tenant_id: str | None,
    *,
    message: str | None,
    author: str | None,
    expected: Mapping[tuple[str, str], Collection[str]] | None = None,
    small: bool = False,
    last: bool = False,
    read: Sequence[list[Any]] | None = None,
) -> list[str]:
    """Commit every branch this transaction changed (of its tenant, when the unit was
    confined to one; every branch it wrote when it ran raw SQL only); the commit ids.
    ``expected``: the tables the unit wrote by (project, branch), read in the same step
    as the look for what was recorded. ``last``: the transaction commits right after,
    with nothing in between (on PostgreSQL its ``COMMIT`` then travels with the
    commit's last statements). ``read``: the rows of ``commit_reads`` for ``expected``,
    run already after the unit's last write.

    On SQLite the whole conversation runs in one thread hop, or on the calling thread
    when the unit is ``small`` (a few rows written)."""
    steps = _commit_steps(
        conn.dialect,
        tenant_id,
        message=message or "Update configuration",
        author=author or current_author(),
        expected=expected or {},
        read=read,
    )
    return await drive(conn, steps, inline=small, last=last)
