"""The two doors of each database: every read goes through ``reading``, every write
through ``writing``. Both receive the scope they act in.

A door yields an ``Access``: the unit of work (one connection, held for the unit) and
the scope resolved to a ``Target``. The read door is where a ref is resolved; the
write door is where a transaction begins, where listeners run at its start (the
tenant for row-level security) and just before it commits (a versioning commit), so
whatever they do commits or rolls back with the writes.

``Db`` is what every data-access function accepts: a ``Database`` (each call is its
own unit of work) or an open ``Unit`` (calls share its connection and transaction).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncConnection

from agentfold_core.data_access.scope_keys import Target, resolve
from agentfold_core.db import row_scope
from agentfold_core.db.engine import Database
from agentfold_core.db.prepared import Prepared, run, run_many
from agentfold_core.errors import ValidationFailed
from agentfold_core.scopes import ProjectScope, TenantScope
from agentfold_core.versioning.commit import commit_changes, commit_reads

Hook = Callable[["Unit"], Awaitable[None]]
T = TypeVar("T")
V = TypeVar("V")
_DESCRIBED_AT_MOST = 20
# A unit that wrote at most this many rows commits on SQLite without a thread hop:
# its commit reads and writes a few rows per row written, a millisecond or two.
_SMALL_UNIT = 50
_message: ContextVar[str | None] = ContextVar("agentfold_commit_message", default=None)


@contextmanager
def commit_message(message: str | None) -> Iterator[None]:
    """Commits made inside the block carry ``message`` (unless a unit names its own),
    for callers of functions that open their own units (an API request's message)."""
    token = _message.set(message)
    try:
        yield
    finally:
        _message.reset(token)


class DoorListener(Protocol):
    """Something that takes part in every write transaction of a database."""

    async def begin(self, unit: Unit) -> None:
        """Run in the transaction once its tenant is known, before any statement."""

    async def before_commit(self, unit: Unit) -> None:
        """Run last in the transaction, after the unit's own checks."""


def add_listener(db: Database, listener: DoorListener) -> None:
    """Make ``listener`` take part in every write transaction of ``db``."""
    db.listeners.append(listener)


def remove_listener(db: Database, listener: DoorListener) -> None:
    """Stop ``listener`` taking part in ``db``'s write transactions."""
    if listener in db.listeners:
        db.listeners.remove(listener)


def _listeners(db: Database) -> list[DoorListener]:
    return cast(list[DoorListener], db.listeners)


class Unit:
    """One unit of work on one database: a connection held for its whole duration.

    A writing unit is one transaction, confined to one tenant; it remembers every
    target it wrote in, its author and message, and the checks deferred to its end.
    """

    __slots__ = (
        "_checks",
        "_described",
        "_hooks",
        "_read_ahead",
        "_writes",
        "author",
        "commits",
        "conn",
        "database",
        "message",
        "one_call",
        "rows_written",
        "targets",
        "tenant_id",
        "writes",
        "written",
    )

    def __init__(
        self,
        database: Database,
        conn: AsyncConnection,
        *,
        writes: bool,
        author: str | None = None,
        message: str | None = None,
    ) -> None:
        self.database = database
        self.conn = conn
        self.writes = writes
        self.author = author
        self.message = message
        self.tenant_id: str | None = None
        self.targets: list[Target] = []
        self._checks: list[Hook] = []
        self._hooks: list[Hook] = []
        self._described: list[str] = []
        # The tables the unit's writes went to, by (project, branch): what its commit
        # expects to find recorded (a forecast; the commit checks it).
        self.written: dict[tuple[str, str], set[str]] = {}
        # Rows written through the data layer (None once a write's count is unknown: a
        # cascade, a delete by prefix): a small unit's commit runs without a thread hop.
        self.rows_written: int | None = 0
        # Commits made by the unit (manage database), once it has finished.
        self.commits: list[str] = []
        # The unit makes a single data-access call (``transaction(one_call=True)``).
        self.one_call = False
        # Writes noted so far, and the commit's first reads made with the last of them
        # (how many writes there were then, the tables expected, their rows).
        self._writes = 0
        self._read_ahead: tuple[int, dict[tuple[str, str], set[str]], list[list[Any]]] | None
        self._read_ahead = None

    def defer(self, check: Hook) -> None:
        """Run ``check`` at the end of the unit, before its commit (a deferred constraint)."""
        self._checks.append(check)

    def before_commit(self, hook: Hook) -> None:
        """Run ``hook`` inside the transaction, after the deferred checks."""
        self._hooks.append(hook)

    def wrote(self, target: Target, *tables: str, rows: int | None) -> None:
        """Note that the unit writes ``rows`` rows (None: unknown) of ``tables`` at
        ``target`` (project-level targets)."""
        self._writes += 1
        if self.rows_written is not None:
            self.rows_written = None if rows is None else self.rows_written + rows
        scope = target.scope
        if isinstance(scope, ProjectScope):
            self.written.setdefault((scope.project_id, target.branch), set()).update(tables)

    async def enter(self, scope: TenantScope) -> Target:
        """Resolve ``scope`` for this unit, which never crosses tenants."""
        if not self.writes:
            # A read has no listeners to await: confined here, without a coroutine
            # more on every read of the data layer.
            self._confine(scope.tenant_id)
            return resolve(scope)
        await self.bind(scope.tenant_id)
        target = resolve(scope, write=True)
        if target not in self.targets:
            self.targets.append(target)
        return target

    async def bind(self, tenant_id: str) -> None:
        """Confine the unit to ``tenant_id`` (listeners begin a writing unit here); on
        PostgreSQL its statements carry the tenant for row-level security from now on."""
        if self._confine(tenant_id) and self.writes:
            for listener in _listeners(self.database):
                await listener.begin(self)

    def _confine(self, tenant_id: str) -> bool:
        # The unit's tenant, set once (True: just now); another tenant is refused.
        if self.tenant_id is None:
            self.tenant_id = tenant_id
            self.bind_row_scope(tenant_id)
            return True
        if tenant_id != self.tenant_id:
            raise ValidationFailed(
                "one unit of work cannot span two tenants",
                errors=[
                    {
                        "field": "tenant_id",
                        "message": f"this unit works for tenant {self.tenant_id!r}",
                        "type": "tenant_mismatch",
                    }
                ],
            )
        return False

    def bind_row_scope(self, tenant_id: str | None, *, system: bool = False) -> bool:
        """Make the unit's statements run for ``tenant_id`` (or, with ``system``, across
        tenants) on a row-scoped database; ``False`` (nothing to do) on SQLite."""
        if not self.database.row_scoped:
            return False
        row_scope.bind(self.conn, tenant_id, system=system)
        return True

    async def write_last(self, prepared: Prepared, values: Mapping[str, Any]) -> list[Any]:
        """Run a point write, the last statement of the calling function (a single-row
        create, update or put): its rows. When it is also the last of the transaction
        (the call's own, on PostgreSQL, with nothing deferred and no listener), the
        commit's first reads travel with it: one round trip fewer."""
        conn = self.conn
        if not (
            self.one_call
            and self.database.role == "manage"
            and conn.dialect.name == "postgresql"
            and not self._more_to_run()
        ):
            return await run(conn, prepared, values, point=True)
        expected = {key: set(tables) for key, tables in self.written.items()}
        reads = commit_reads(conn.dialect, self.tenant_id, expected)
        rows, *read = await run_many(conn, [(prepared, values), *reads])
        self._read_ahead = (self._writes, expected, read)
        return rows

    def _more_to_run(self) -> bool:
        # Deferred checks, hooks or listeners: work that may still write before the commit.
        return bool(self._checks or self._hooks or _listeners(self.database))

    def _still_read(self) -> list[list[Any]] | None:
        # The commit's first reads made with the unit's last write, if nothing was
        # written or deferred since (else they are read again).
        ahead, self._read_ahead = self._read_ahead, None
        if ahead is None or self._more_to_run():
            return None
        writes, expected, read = ahead
        return read if writes == self._writes and expected == self.written else None

    async def finish(self, *, last: bool = False) -> None:
        """Run the deferred checks, then the before-commit hooks and listeners.
        ``last``: the transaction commits right after, with nothing in between."""
        read = self._still_read()
        # Checks and hooks may defer more work; drain until nothing is left.
        while self._checks:
            check = self._checks.pop(0)
            await check(self)
        for hook in self._hooks:
            await hook(self)
        listeners = _listeners(self.database)
        if self.database.role == "manage":
            # Every manage transaction commits what it changed, in the same transaction.
            self.commits = await commit_changes(
                self.conn,
                self.tenant_id,
                message=self.commit_message(),
                author=self.author,
                expected=self.written,
                small=self.rows_written is not None and self.rows_written <= _SMALL_UNIT,
                last=last and not listeners,
                read=read,
            )
        for listener in listeners:
            await listener.before_commit(self)

    def describe(self, message: str | None) -> None:
        """Add what one call did to the commit message (unless the unit has its own)."""
        if message is not None and message not in self._described:
            self._described.append(message)

    def commit_message(self) -> str | None:
        """The unit's own message, else the block's (``commit_message``), else what
        its calls did."""
        if self.message is not None:
            return self.message
        if (given := _message.get()) is not None:
            return given
        if len(self._described) > _DESCRIBED_AT_MOST:
            shown = "; ".join(self._described[:_DESCRIBED_AT_MOST])
            return f"{shown}; and {len(self._described) - _DESCRIBED_AT_MOST} more"
        return "; ".join(self._described) or None


Db = Database | Unit


@dataclass(frozen=True, slots=True)
class Access:
    """What a door yields: the unit of work and the resolved scope."""

    unit: Unit
    target: Target

    @property
    def conn(self) -> AsyncConnection:
        """The unit's connection."""
        return self.unit.conn


@dataclass(frozen=True, slots=True)
class SystemAccess:
    """A door opened without a tenant, for lookups that precede one (authentication)
    and operator reports across tenants."""

    unit: Unit

    @property
    def conn(self) -> AsyncConnection:
        """The unit's connection."""
        return self.unit.conn


class _Door(ABC, Generic[V]):
    """What every door shares: the connection context it holds from entry to exit,
    given back when opening fails halfway.

    Doors are classes, not generator-based context managers: one is entered on every
    call of the data layer, and a generator's set-up and tear-down (an async
    generator per entry, registered with the event loop) is work on every request
    (2% of an API ``GET``'s instructions: ``bench/instructions.py``).
    """

    __slots__ = ("_held",)

    def __init__(self) -> None:
        self._held: AbstractAsyncContextManager[Any] | None = None

    @abstractmethod
    async def _open(self) -> V:
        """Take what the door holds and give what its block works with."""

    async def __aenter__(self) -> V:
        try:
            return await self._open()
        except BaseException as error:
            await self._release(error)
            raise

    async def _hold(self, manager: AbstractAsyncContextManager[T]) -> T:
        value = await manager.__aenter__()
        self._held = manager
        return value

    async def _release(self, error: BaseException | None) -> bool | None:
        held, self._held = self._held, None
        if held is None:
            return None
        if error is None:
            return await held.__aexit__(None, None, None)
        return await held.__aexit__(type(error), error, error.__traceback__)

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _tb: object
    ) -> bool | None:
        return await self._release(error)


class _Reading(_Door[Access]):
    __slots__ = ("_db", "_scope", "_snapshot")

    def __init__(self, db: Db, scope: TenantScope, snapshot: bool) -> None:
        super().__init__()
        self._db, self._scope, self._snapshot = db, scope, snapshot

    async def _open(self) -> Access:
        db = self._db
        if isinstance(db, Unit):
            return Access(db, await db.enter(self._scope))
        unit = Unit(db, await self._hold(db.read(snapshot=self._snapshot)), writes=False)
        return Access(unit, await unit.enter(self._scope))


def reading(
    db: Db, scope: TenantScope, *, snapshot: bool = False
) -> AbstractAsyncContextManager[Access]:
    """The read door: a connection and the target ``scope`` resolves to.

    Without ``snapshot`` a read on its own runs in autocommit (one round trip per
    statement, no BEGIN); with it, every statement sees one state.
    """
    return _Reading(db, scope, snapshot)


class _SystemReading(_Door[SystemAccess]):
    __slots__ = ("_db", "_joined", "_snapshot")

    def __init__(self, db: Db, snapshot: bool) -> None:
        super().__init__()
        self._db, self._snapshot = db, snapshot
        self._joined: Unit | None = None

    async def _open(self) -> SystemAccess:
        db = self._db
        if isinstance(db, Unit):
            if db.bind_row_scope(None, system=True):
                self._joined = db
            return SystemAccess(db)
        source = db.system or db
        conn = await self._hold(source.read(snapshot=self._snapshot, system=True))
        return SystemAccess(Unit(db, conn, writes=False))

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _tb: object
    ) -> bool | None:
        joined, self._joined = self._joined, None
        if joined is not None:
            # The unit's own tenant again, whatever happened inside.
            joined.bind_row_scope(joined.tenant_id)
            return None
        return await self._release(error)


def reading_system(db: Db, *, snapshot: bool = False) -> AbstractAsyncContextManager[SystemAccess]:
    """The read door without a tenant: only for lookups that find the tenant (an API
    key by its public id) and operator reports over every tenant.

    On PostgreSQL its statements pass the row-level security policies as the system
    (``db.row_security``): on the owner's connection when the database has one.
    """
    return _SystemReading(db, snapshot)


class _Transaction(_Door[Unit]):
    __slots__ = ("_author", "_db", "_message", "_one_call", "_unit")

    def __init__(self, db: Db, author: str | None, message: str | None, one_call: bool) -> None:
        super().__init__()
        self._db, self._author, self._message, self._one_call = db, author, message, one_call
        self._unit: Unit | None = None

    async def _open(self) -> Unit:
        db = self._db
        if isinstance(db, Unit):
            if db.writes:
                raise TypeError("already inside a write transaction: pass the unit itself")
            database = db.database
            conn = await self._hold(database.write_on(db.conn))
        else:
            database = db
            conn = await self._hold(db.write())
        unit = Unit(database, conn, writes=True, author=self._author, message=self._message)
        unit.one_call = self._one_call
        if isinstance(db, Unit) and db.tenant_id is not None:
            await unit.bind(db.tenant_id)
        self._unit = unit
        return unit

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _tb: object
    ) -> bool | None:
        unit, self._unit = self._unit, None
        if error is None and unit is not None:
            try:
                await unit.finish(last=True)
            except BaseException as failure:
                # Rolled back with the writes it was to commit.
                await self._release(failure)
                raise
        return await self._release(error)


def transaction(
    db: Db, *, author: str | None = None, message: str | None = None, one_call: bool = False
) -> AbstractAsyncContextManager[Unit]:
    """A writing unit of work for several calls, committed once at the end::

        async with transaction(manage, message="Reorganise triage") as unit:
            await create_agent(unit)(...)
            await update_agent(unit)(...)

    Given a reading unit (``session``), the transaction runs on its held connection.
    ``one_call``: the unit makes a single data-access call (an API request's write), so
    the last statement of that call may carry the commit's first reads.
    """
    return _Transaction(db, author, message, one_call)


class _Writing(_Door[Access]):
    __slots__ = ("_author", "_db", "_message", "_scope")

    def __init__(self, db: Db, scope: TenantScope, author: str | None, message: str | None) -> None:
        super().__init__()
        self._db, self._scope, self._author, self._message = db, scope, author, message

    async def _open(self) -> Access:
        db = self._db
        if isinstance(db, Unit) and db.writes:
            target = await db.enter(self._scope)
            if db.author is None:
                db.author = self._author
            db.describe(self._message)
            return Access(db, target)
        unit = await self._hold(_Transaction(db, self._author, None, True))
        unit.describe(self._message)
        return Access(unit, await unit.enter(self._scope))


def writing(
    db: Db, scope: TenantScope, *, author: str | None = None, message: str | None = None
) -> AbstractAsyncContextManager[Access]:
    """The write door: a transaction confined to ``scope``'s tenant.

    Given a ``Database`` or a reading ``session``, the transaction is this call's own:
    listeners begin it, the deferred checks, hooks and listeners end it, and it
    commits on success and rolls back on any error. Given a writing ``Unit``, the call
    joins its transaction.
    """
    return _Writing(db, scope, author, message)


class _Session(_Door[Unit]):
    __slots__ = ("_db", "_snapshot")

    def __init__(self, db: Database, snapshot: bool) -> None:
        super().__init__()
        self._db, self._snapshot = db, snapshot

    async def _open(self) -> Unit:
        db = self._db
        return Unit(db, await self._hold(db.read(snapshot=self._snapshot)), writes=False)


def session(db: Database, *, snapshot: bool = False) -> AbstractAsyncContextManager[Unit]:
    """A reading unit of work for several calls on one held connection (for example
    one API request): no pool checkout per call. With ``snapshot`` every call sees one
    state (a ref's head and the rows read at it agree); such a unit cannot write."""
    return _Session(db, snapshot)
