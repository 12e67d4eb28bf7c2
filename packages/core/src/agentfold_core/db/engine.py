"""Async engines for the two databases: URL checks, SQLite pragmas, PostgreSQL pooling."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import (
    AbstractAsyncContextManager,
    asynccontextmanager,
    contextmanager,
    nullcontext,
)
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pydantic_core
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from agentfold_core.db import row_scope
from agentfold_core.db.json_text import loads
from agentfold_core.db.kept import KeptConnections
from agentfold_core.db.prepared import WRITE_OPTION, begin_sqlite_write, send_now
from agentfold_core.db.sqlite_wal import NO_AUTOMATIC_CHECKPOINT, Checkpoints, end_on_caller
from agentfold_core.db.writer_turns import WriterTurns
from agentfold_core.errors import ConfigurationError
from agentfold_core.settings import DatabaseSettings, url_variable

Backend = Literal["sqlite", "postgresql"]
DatabaseRole = Literal["manage", "runtime"]

_DRIVERS: dict[str, Backend] = {"sqlite+aiosqlite": "sqlite", "postgresql+psycopg": "postgresql"}
# Execution options read by the ``begin`` listener: how to open a transaction (with
# ``db.prepared.WRITE_OPTION``, which point statements read too).
_SNAPSHOT_OPTION = "agentfold_snapshot"
# Connections of plain reads: SQLAlchemy's implicit transaction sends no BEGIN, so a
# read on its own is its statement alone (no BEGIN, no ROLLBACK round trips).
_PLAIN_OPTION = "agentfold_plain_read"
# Connections run in autocommit at the driver on both backends, so a plain read sends
# its statement alone (no BEGIN, no ROLLBACK, no isolation switch per checkout); a
# transaction is begun explicitly by the listener below.
_BEGIN: dict[tuple[Backend, str], str] = {
    ("sqlite", "write"): "BEGIN IMMEDIATE",
    ("sqlite", "snapshot"): "BEGIN",
    ("sqlite", "plain"): "BEGIN",
    ("postgresql", "write"): "BEGIN",
    ("postgresql", "snapshot"): "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    ("postgresql", "plain"): "BEGIN",
}


# Characters a host name or address may hold (IPv6 and its zone, several hosts); any
# other character in the host means the URL split somewhere else than meant, most
# often at an ``@`` of an unencoded password.
_HOST = re.compile(r"[A-Za-z0-9._~%:,\[\]-]*")
_ENCODING_HINT = (
    "percent-encode special characters of the user and password "
    "(@ as %40, : as %3A, / as %2F, # as %23, % as %25)"
)


def _source(role: str | None) -> str:
    # Which setting holds the URL, so the message says what to edit.
    return f"the {role} database URL ({url_variable(role)})" if role else "the database URL"


def parse_database_url(url: str, role: str | None = None) -> URL:
    """Parse ``url`` (of the ``role`` database) and check it names a supported async driver."""
    source = _source(role)
    malformed = f"{source} is malformed: cannot parse it; {_ENCODING_HINT}"
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        # The driver's message (and a chained exception) may quote parts of the URL,
        # password included (a bad port raises ValueError): say nothing of it.
        raise ConfigurationError(malformed, url=_redact(url)) from None
    if not _HOST.fullmatch(parsed.host or ""):
        # The host may hold the tail of the password: name neither.
        raise ConfigurationError(malformed, url=_redact(url))
    if parsed.drivername not in _DRIVERS:
        supported = ", ".join(f"{d}://" for d in _DRIVERS)
        raise ConfigurationError(
            f"unsupported database URL scheme {parsed.drivername!r} in {source}; "
            f"use one of {supported}",
            url=parsed.render_as_string(hide_password=True),
        )
    if _DRIVERS[parsed.drivername] == "postgresql" and not parsed.database:
        raise ConfigurationError(
            f"{source} names no PostgreSQL database; end it with /NAME",
            url=parsed.render_as_string(hide_password=True),
        )
    return parsed


def _redact(url: str) -> str:
    # A malformed URL may still carry a password; never echo anything after "://".
    scheme, sep, _ = url.partition("://")
    return f"{scheme}{sep}..." if sep else "<unparseable>"


def _json_serializer(value: Any) -> str:
    # pydantic's encoder handles datetimes, enums and models inside JSON content.
    return pydantic_core.to_json(value).decode()


@dataclass(frozen=True, slots=True)
class Database:
    """One of the two databases: its role, backend and async engine."""

    role: DatabaseRole
    backend: Backend
    engine: AsyncEngine
    # Door listeners (``data_access.doors``): they take part in every write transaction.
    listeners: list[Any] = field(default_factory=list, compare=False, hash=False)
    # Connections kept checked out between uses (``db.kept``), at most this many.
    keep_connections: int = field(default=10, compare=False, hash=False)
    recycle_seconds: int = field(default=-1, compare=False, hash=False)
    # Where reads across tenants go (``reading_system``) when the application's own
    # role may not make them: the owner's connection (``db.row_security``).
    system: Database | None = field(default=None, compare=False, hash=False)
    # SQLite only: this process's write transactions queue here, not in SQLite's
    # sleeping busy handler (``db.writer_turns``).
    turns: WriterTurns | None = field(default=None, compare=False, hash=False)
    # SQLite files only: the log's checkpoints, off the event loop (``db.sqlite_wal``).
    checkpoints: Checkpoints | None = field(default=None, compare=False, hash=False)
    _kept: KeptConnections = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        # Every connection carries the plain-read option; a snapshot or a write sets
        # its own option for the length of its transaction (``_as``).
        plain = self.engine.execution_options(**{_PLAIN_OPTION: True})
        kept = KeptConnections(
            plain,
            keep=self.keep_connections,
            recycle_seconds=self.recycle_seconds,
            # A kept connection forgets its tenant as a returned one does (checkin);
            # only PostgreSQL's connections carry one.
            on_release=_forget_scope if self.row_scoped else None,
        )
        object.__setattr__(self, "_kept", kept)

    @property
    def row_scoped(self) -> bool:
        """Whether statements carry their connection's tenant (``db.row_scope``): on
        PostgreSQL; a SQLite connection has no scope to bind or forget."""
        return self.backend == "postgresql"

    @property
    def file(self) -> Path | None:
        """The SQLite database file (``None`` on PostgreSQL or in memory)."""
        url = self.engine.url
        if self.backend != "sqlite" or _in_memory(url):
            return None
        return Path(str(url.database)).resolve()

    def read(
        self, *, snapshot: bool = False, system: bool = False
    ) -> AbstractAsyncContextManager[AsyncConnection]:
        """A connection for reads.

        With ``snapshot`` every statement sees one consistent state (a read-only
        transaction, rolled back on exit); without it each statement stands alone.
        With ``system`` its statements may read across tenants (``reading_system``);
        otherwise they see no tenant's rows until the doors bind one.
        """
        if not snapshot and (not system or not self.row_scoped):
            # The plain read, the most frequent: the kept connection's own manager.
            return self._kept.use()
        return self._read(snapshot=snapshot, system=system)

    @asynccontextmanager
    async def _read(self, *, snapshot: bool, system: bool) -> AsyncIterator[AsyncConnection]:
        async with self._kept.use() as conn:
            if system:
                row_scope.bind(conn, None, system=True)
            if not snapshot:
                yield conn
                return
            with _as(conn, _SNAPSHOT_OPTION):
                async with conn.begin() as transaction:
                    yield conn
                    await transaction.rollback()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a write transaction, committed on success, rolled back on error.

        Only the write door (``data_access.doors``) and migrations open one.
        """
        async with self._kept.use() as conn, self.write_on(conn):
            yield conn

    @asynccontextmanager
    async def write_on(self, conn: AsyncConnection) -> AsyncIterator[AsyncConnection]:
        """A write transaction on a connection already held (a request's connection)."""
        if conn.in_transaction():
            # The implicit transaction of earlier plain reads sent no BEGIN: close it.
            await conn.commit()
        async with self.turns.turn() if self.turns is not None else nullcontext():
            with _as(conn, WRITE_OPTION):
                async with conn.begin():
                    yield conn
        if self.checkpoints is not None:
            self.checkpoints.after_write(self.read)

    async def dispose(self) -> None:
        """Close every pooled connection."""
        if self.checkpoints is not None:
            await self.checkpoints.wait()
        await self._kept.close()
        await self.engine.dispose()
        if self.system is not None:
            await self.system.dispose()


@contextmanager
def _as(conn: AsyncConnection, option: str) -> Iterator[None]:
    # Set on the synchronous connection: a dictionary update, where the async
    # ``execution_options`` would cost a greenlet round each way.
    sync = conn.sync_connection
    if sync is None:
        raise RuntimeError("the connection is not started")
    sync.execution_options(**{option: True})
    try:
        yield
    finally:
        sync.execution_options(**{option: False})


def create_database(
    url: str,
    role: DatabaseRole,
    settings: DatabaseSettings | None = None,
    *,
    system_url: str | None = None,
) -> Database:
    """Build the engine for ``url`` with the backend's connection settings; reads across
    tenants go to ``system_url`` (the owner's) when it names another connection."""
    settings = settings or DatabaseSettings()
    system = None
    if system_url is not None and system_url != url:
        # As large a pool as the application's: every authenticated request reads its
        # API key there (the tenant is not known before), so with fewer kept
        # connections than concurrent requests each of the rest would connect anew.
        system = create_database(system_url, role, settings)
    parsed = parse_database_url(url, role)
    backend = _DRIVERS[parsed.drivername]
    if backend == "sqlite":
        engine = _sqlite_engine(parsed, settings)
    else:
        engine = create_async_engine(
            parsed,
            pool_size=settings.pool_size,
            max_overflow=settings.max_overflow,
            pool_timeout=settings.pool_timeout,
            pool_recycle=settings.pool_recycle,
            pool_pre_ping=settings.pool_pre_ping,
            json_serializer=_json_serializer,
            json_deserializer=loads,
            echo=settings.echo_sql,
            isolation_level="AUTOCOMMIT",
            connect_args={"prepare_threshold": settings.prepare_threshold},
        )
        _scope_statements(engine, settings)
        _begin_explicitly(engine, "postgresql")
    turns = WriterTurns(settings.sqlite_busy_timeout_ms / 1000) if backend == "sqlite" else None
    return Database(
        role=role,
        backend=backend,
        engine=engine,
        # A kept connection skips the pool's checkout, so its liveness ping too: who
        # asks for the ping gets every connection from the pool.
        keep_connections=0 if settings.pool_pre_ping else settings.pool_size,
        recycle_seconds=settings.pool_recycle,
        system=system,
        turns=turns,
        checkpoints=None if turns is None or _in_memory(parsed) else Checkpoints(turns),
    )


def _scope_statements(engine: AsyncEngine, settings: DatabaseSettings) -> None:
    # Every statement carries its connection's tenant (``db.row_scope``) and a
    # transaction's BEGIN goes out with its first statement; the tenant and the
    # transaction are forgotten when the transaction ends and when the connection goes
    # back to the pool.
    # Without row-level security no role is switched to and no setting is sent.
    row_security = settings.row_security
    app_role = settings.app_role if row_security else None
    sync = engine.sync_engine

    @event.listens_for(sync, "connect")
    def _install(dbapi_conn: Any, _record: Any) -> None:
        driver = dbapi_conn.driver_connection
        # A superuser bypasses every policy: the setting would change nothing and cost
        # each plain read a pipeline (``db check`` warns about this set-up).
        bypass = app_role is None and driver.info.parameter_status("is_superuser") == "on"
        row_scope.install(driver, app_role, settings=row_security and not bypass)

    @event.listens_for(sync, "checkin")
    def _forget(dbapi_conn: Any, _record: Any) -> None:
        scope = row_scope.scope_of(getattr(dbapi_conn, "driver_connection", None))
        if scope is not None:
            scope.reset()

    def _ended(conn: Any) -> None:
        scope = _scope(conn)
        if scope is not None:
            scope.ended()

    event.listen(sync, "commit", _ended)
    event.listen(sync, "rollback", _ended)


def _in_memory(url: URL) -> bool:
    return not url.database or url.database == ":memory:"


def _sqlite_engine(url: URL, settings: DatabaseSettings) -> AsyncEngine:
    in_memory = _in_memory(url)
    # Sized like PostgreSQL's: beyond the pool, every checkout would open the file,
    # start a driver thread and set the pragmas, then close it all on return. (An
    # in-memory database has one connection, held for good.)
    pool: dict[str, Any] = (
        {}
        if in_memory
        else {
            "pool_size": settings.pool_size,
            "max_overflow": settings.max_overflow,
            "pool_timeout": settings.pool_timeout,
        }
    )
    engine = create_async_engine(
        url,
        json_serializer=_json_serializer,
        json_deserializer=loads,
        echo=settings.echo_sql,
        # Point reads run on the event loop's thread (``db.prepared.run``), not only
        # on the driver's own thread.
        connect_args={
            "timeout": settings.sqlite_busy_timeout_ms / 1000,
            "check_same_thread": False,
        },
        **pool,
        # The driver runs in autocommit and every transaction is begun (and ended) by
        # SQLAlchemy itself, so a returned connection never holds one: the pool's
        # safety ROLLBACK would only cost a thread hop per checkout.
        pool_reset_on_return=None,
    )
    busy_timeout = settings.sqlite_busy_timeout_ms
    folder = None if in_memory else Path(str(url.database)).parent

    @event.listens_for(engine.sync_engine, "do_connect")
    def _make_folder(*_: Any) -> None:
        # On first connect, not when the engine is built: a read-only command that
        # finds no database leaves no empty folder behind.
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Autocommit at the driver; transactions are begun explicitly below so that
        # SAVEPOINT works and writers take the lock up front (no upgrade deadlocks).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout)}")
        # Commits run on the event loop's thread; the log is checkpointed off it.
        cursor.execute(NO_AUTOMATIC_CHECKPOINT)
        cursor.close()

    _begin_explicitly(engine, "sqlite", busy_timeout)
    end_on_caller(engine)
    return engine


def _forget_scope(conn: AsyncConnection) -> None:
    scope = _scope(conn.sync_connection)
    if scope is not None:
        scope.reset()


def _scope(conn: Any) -> row_scope.ConnectionScope | None:
    # The scope of a SQLAlchemy connection's driver connection, if it has one.
    dbapi = getattr(conn, "_dbapi_connection", None)
    return row_scope.scope_of(getattr(dbapi, "driver_connection", None))


def _begin_explicitly(engine: AsyncEngine, backend: Backend, busy_timeout_ms: int = 0) -> None:
    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get(WRITE_OPTION, False):
            kind = "write"
        elif options.get(_SNAPSHOT_OPTION, False):
            kind = "snapshot"
        elif options.get(_PLAIN_OPTION, False):
            return  # an implicit transaction of a plain read: nothing to send
        else:
            kind = "plain"
        scope = _scope(conn)
        if scope is not None:
            # Sent with the transaction's first statement and its tenant: no round trip.
            scope.started(_BEGIN[(backend, kind)])
            return
        if backend == "sqlite" and kind == "write":
            begin_sqlite_write(conn, _BEGIN[(backend, kind)], busy_timeout_ms)
            return
        send_now(conn, _BEGIN[(backend, kind)])


def databases_from_settings(settings: DatabaseSettings | None = None) -> tuple[Database, Database]:
    """The manage and runtime databases named by the settings."""
    settings = settings or DatabaseSettings()
    return (
        create_database(
            settings.manage_database_url,
            "manage",
            settings,
            system_url=settings.manage_migration_url,
        ),
        create_database(
            settings.runtime_database_url,
            "runtime",
            settings,
            system_url=settings.runtime_migration_url,
        ),
    )


def operator_databases(settings: DatabaseSettings | None = None) -> tuple[Database, Database]:
    """The manage and runtime databases as operator commands open them: on the owner's
    URLs (``AGENTFOLD_*_MIGRATION_URL``, else the database URLs)."""
    settings = settings or DatabaseSettings()
    return (
        create_database(settings.migration_url("manage"), "manage", settings),
        create_database(settings.migration_url("runtime"), "runtime", settings),
    )
