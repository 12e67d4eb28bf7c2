"""Statements compiled once per dialect and run on the driver connection.

The data layer's hottest statements (a row by its key, a list page, an insert or
update returning the row) have a fixed shape. Compiling them once and sending them
straight to the driver connection that SQLAlchemy holds keeps SQLAlchemy's SQL, type
processing, pool and transactions, but skips its per-call execution machinery (and,
on aiosqlite, three of the four thread hops its cursor adapter makes per statement).
A driver error is wrapped the way SQLAlchemy wraps it, and a lost connection is
invalidated, so callers see exactly what the ordinary path would raise. Where anyone
listens to statements (``echo``, tracing instrumentation, tests), the ordinary path
is taken so that they see every statement.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import String, bindparam, exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.util.concurrency import await_

Processor = Callable[[Any], Any]
# The execution option a write transaction's connection carries (set by
# ``db.engine``): on SQLite its ``BEGIN IMMEDIATE`` holds the write lock.
WRITE_OPTION = "agentfold_write"


@dataclass(frozen=True, slots=True)
class Prepared:
    """One statement compiled for one dialect, with its type processors."""

    sql: str
    positional: tuple[str, ...] | None  # bind names in order, for qmark drivers
    binds: tuple[tuple[str, Processor], ...]  # bind names whose values need processing
    defaults: tuple[tuple[str, Any], ...]  # values of the statement's own literals
    columns: tuple[str, ...]  # result column names ((): no result rows)
    results: tuple[tuple[int, Processor], ...]  # result columns that need processing
    writes: bool = False  # an INSERT, UPDATE or DELETE

    def parameters(self, values: Mapping[str, Any]) -> Any:
        """Driver parameters for ``values`` keyed by bind name."""
        if self.defaults:
            values = {**dict(self.defaults), **values}
        if self.binds:
            values = dict(values)
            for name, process in self.binds:
                if name in values:
                    values[name] = process(values[name])
        if self.positional is None:
            return values
        return tuple(values[name] for name in self.positional)

    def row(self, raw: Sequence[Any]) -> dict[str, Any]:
        """A driver row as a mapping of column names to Python values."""
        values = list(raw)
        for index, process in self.results:
            values[index] = process(values[index])
        return dict(zip(self.columns, values, strict=True))


def string_binds(*names: str) -> tuple[BindParameter[str], ...]:
    """String bind parameters ``k_<name>``, the names prepared statements' values use."""
    return tuple(bindparam(f"k_{name}", type_=String()) for name in names)


def prepare(statement: ClauseElement, dialect: Dialect) -> Prepared:
    """Compile ``statement`` for ``dialect`` with the processors of its binds and columns."""
    compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
    binds: list[tuple[str, Processor]] = []
    defaults = tuple(
        (name, bind.effective_value) for name, bind in compiled.binds.items() if not bind.required
    )
    for name, bind in compiled.binds.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            binds.append((name, process))
    results: list[tuple[int, Processor]] = []
    columns: list[str] = []
    for index, (key, _name, objects, type_) in enumerate(compiled._result_columns):
        columns.append(key)
        process = type_.dialect_impl(dialect).result_processor(dialect, None)
        if process is not None:
            results.append((index, process))
        del objects
    positional = tuple(compiled.positiontup or ()) if compiled.positional else None
    writes = bool(compiled.isinsert or compiled.isupdate or compiled.isdelete)
    return Prepared(
        str(compiled), positional, tuple(binds), defaults, tuple(columns), tuple(results), writes
    )


async def run(
    conn: AsyncConnection, prepared: Prepared, values: Mapping[str, Any], *, point: bool = False
) -> list[Any]:
    """Execute on the driver connection ``conn`` holds; the raw result rows.

    ``point`` marks a statement on a row or two by an indexed key: on SQLite it runs on
    the calling thread, since it takes microseconds and handing it to the driver's
    thread and back costs ten times that. A read never waits there (in WAL mode a
    reader never waits for a writer); a write only inside a write transaction, whose
    ``BEGIN IMMEDIATE`` already holds the lock (elsewhere it could sleep in the busy
    handler, so it goes to the driver's thread).
    """
    sync = conn.sync_connection
    if sync is None:
        raise exc.InvalidRequestError("the connection is not started")
    dialect = conn.dialect
    parameters = prepared.parameters(values)
    if _observed(sync):
        # Someone listens to statements (echo, tracing, tests): take the ordinary path
        # so they see this one too.
        result = await conn.exec_driver_sql(prepared.sql, parameters)
        return list(result.all()) if prepared.columns else []
    driver: Any = sync.connection.driver_connection
    try:
        if dialect.name == "sqlite":
            if point and (not prepared.writes or _holds_write_lock(sync)):
                # The connection is this task's alone until it is returned, so its
                # driver thread is idle now (SQLite itself is built thread-safe).
                return list(driver._conn.execute(prepared.sql, parameters).fetchall())
            rows: list[Any] = list(await driver.execute_fetchall(prepared.sql, parameters))
            return rows
        cursor = await driver.execute(prepared.sql, parameters)
        return list(await cursor.fetchall()) if prepared.columns else []
    except Exception as error:
        raise await _wrapped(conn, prepared, parameters, error) from error


Batch = Sequence[tuple[Prepared, Sequence[Mapping[str, Any]]]]


async def run_batch(conn: AsyncConnection, batch: Batch) -> None:
    """Execute several statements (each with one or many parameter sets) in one step:
    one thread hop on SQLite, one pipelined round trip on PostgreSQL."""
    work = [(p, [p.parameters(v) for v in values]) for p, values in batch if values]
    if not work:
        return
    sync = conn.sync_connection
    if sync is None:
        raise exc.InvalidRequestError("the connection is not started")
    if _observed(sync):
        for prepared, parameters in work:
            await conn.exec_driver_sql(prepared.sql, parameters)
        return
    driver: Any = sync.connection.driver_connection
    try:
        if conn.dialect.name == "sqlite":
            await driver._execute(_run_in_thread, driver._conn, work)
            return
        async with driver.pipeline(), driver.cursor() as cursor:
            for prepared, parameters in work:
                await cursor.executemany(prepared.sql, parameters)
    except Exception as error:
        raise await _wrapped(conn, work[0][0], None, error) from error


async def run_many(
    conn: AsyncConnection, work: Sequence[tuple[Prepared, Mapping[str, Any]]]
) -> list[list[Any]]:
    """Execute several statements in order and return each one's rows: on SQLite in one
    thread hop, on PostgreSQL pipelined from three statements on. Each statement starts
    after the one before has finished (a lock taken by one holds for the next)."""
    sync = conn.sync_connection
    if sync is None:
        raise exc.InvalidRequestError("the connection is not started")
    bound = [(p, p.parameters(v)) for p, v in work]
    if _observed(sync):
        results = []
        for prepared, parameters in bound:
            found = await conn.exec_driver_sql(prepared.sql, parameters)
            results.append(list(found.all()) if prepared.columns else [])
        return results
    driver: Any = sync.connection.driver_connection
    try:
        if conn.dialect.name == "sqlite":
            fetched: list[list[Any]] = await driver._execute(
                _fetch_in_thread,
                driver._conn,
                bound,
            )
            return fetched
        if len(bound) >= _PIPELINE_FROM:
            return await _fetch_pipelined(driver, bound)
        # A statement or two one after the other: pipeline mode's set-up costs more
        # than the round trip it saves (measured on a local server).
        results = []
        async with driver.cursor() as cursor:
            for prepared, parameters in bound:
                await cursor.execute(prepared.sql, parameters)
                results.append(list(await cursor.fetchall()) if prepared.columns else [])
        return results
    except Exception as error:
        raise await _wrapped(conn, bound[0][0], None, error) from error


# From three statements on, PostgreSQL's pipeline mode pays (about 110 µs per further
# statement against 235 µs one after the other, on a shared 2-core machine).
_PIPELINE_FROM = 3


async def _fetch_pipelined(driver: Any, bound: Sequence[tuple[Prepared, Any]]) -> list[list[Any]]:
    # psycopg's pipeline mode: every statement sent, then one sync; the server still
    # runs them in order, so a lock taken by one holds for the next.
    cursors = []
    async with driver.pipeline() as pipeline:
        for prepared, parameters in bound:
            cursor = driver.cursor()
            await cursor.execute(prepared.sql, parameters)
            cursors.append(cursor)
        await pipeline.sync()
        results = []
        for cursor, (prepared, _) in zip(cursors, bound, strict=True):
            results.append(list(await cursor.fetchall()) if prepared.columns else [])
            await cursor.close()
    return results


def _fetch_in_thread(connection: Any, work: Sequence[tuple[Prepared, Any]]) -> list[list[Any]]:
    results = []
    cursor = connection.cursor()
    try:
        for prepared, parameters in work:
            cursor.execute(prepared.sql, parameters)
            results.append(cursor.fetchall() if prepared.columns else [])
    finally:
        cursor.close()
    return results


@dataclass(frozen=True, slots=True)
class Fetch:
    """A step of a ``Steps`` program: run these statements, send back their rows."""

    work: Sequence[tuple[Prepared, Mapping[str, Any]]]


@dataclass(frozen=True, slots=True)
class Send:
    """A step of a ``Steps`` program: run these statements (each with many parameter
    sets), nothing comes back."""

    batch: Batch


T = TypeVar("T")
# A database conversation written once, without I/O: it yields what to run and is
# sent the rows of each ``Fetch``; ``drive`` runs it on either backend.
Steps = Generator[Fetch | Send, list[list[Any]] | None, T]


async def drive(
    conn: AsyncConnection, steps: Steps[T], *, inline: bool = False, last: bool = False
) -> T:
    """Run a ``Steps`` program: on SQLite wholly in aiosqlite's thread (one hop for the
    whole conversation), on PostgreSQL step by step. ``inline``: a short program, run
    on SQLite on the calling thread when the transaction holds the write lock (nothing
    it runs can wait). ``last``: nothing follows the program in its transaction but the
    commit; on PostgreSQL the ``COMMIT`` goes in the same round trip as the program's
    last statements (if they fail, it is not run and the transaction rolls back)."""
    sync = conn.sync_connection
    if sync is None:
        raise exc.InvalidRequestError("the connection is not started")
    if conn.dialect.name == "sqlite" and not _observed(sync):
        driver: Any = sync.connection.driver_connection
        try:
            if inline and _holds_write_lock(sync):
                done: T = _drive_in_thread(driver._conn, steps)
                return done
            result: T = await driver._execute(_drive_in_thread, driver._conn, steps)
        except sqlite3.Error as error:
            raise exc.DBAPIError.instance(
                None, None, error, sqlite3.Error, dialect=conn.dialect
            ) from error
        return result
    answer: list[list[Any]] | None = None
    # What a ``Send`` writes is read by no one before the next ``Fetch``: it is held
    # until then (consecutive ones go out together) or, at the end, sent with the
    # transaction's COMMIT.
    held: list[tuple[Prepared, Sequence[Mapping[str, Any]]]] = []
    while True:
        try:
            step = steps.send(answer)
        except StopIteration as done:
            if last and held:
                held.append((_COMMIT, ({},)))
            if held:
                await run_batch(conn, held)
            value: T = done.value
            return value
        if isinstance(step, Fetch):
            if held:
                await run_batch(conn, held)
                held = []
            answer = await run_many(conn, step.work)
        else:
            held.extend(step.batch)
            answer = None


# Sent at the end of a ``drive(last=True)`` program's last statements; the driver's own
# commit then finds no transaction open and sends nothing.
_COMMIT = Prepared("COMMIT", None, (), (), (), ())


def _drive_in_thread(connection: Any, steps: Steps[T]) -> T:
    cursor = connection.cursor()
    answer: list[list[Any]] | None = None
    try:
        while True:
            try:
                step = steps.send(answer)
            except StopIteration as done:
                value: T = done.value
                return value
            if isinstance(step, Fetch):
                answer = []
                for prepared, values in step.work:
                    cursor.execute(prepared.sql, prepared.parameters(values))
                    answer.append(cursor.fetchall() if prepared.columns else [])
            else:
                for prepared, many in step.batch:
                    if many:
                        cursor.executemany(prepared.sql, [prepared.parameters(v) for v in many])
                answer = None
    finally:
        cursor.close()


def _run_in_thread(connection: Any, work: Sequence[tuple[Prepared, list[Any]]]) -> None:
    # Runs in aiosqlite's thread, on its sqlite3 connection: no hop per statement.
    cursor = connection.cursor()
    try:
        for prepared, parameters in work:
            cursor.executemany(prepared.sql, parameters)
    finally:
        cursor.close()


def send_now(sync: Connection, sql: str) -> None:
    """Send one statement without parameters or results (``BEGIN``) from synchronous
    code running on behalf of an async connection (an event listener)."""
    if _observed(sync):
        sync.exec_driver_sql(sql)
        return
    driver: Any = sync.connection.driver_connection
    try:
        if sync.dialect.name == "sqlite":
            await_(driver.execute_fetchall(sql))
        else:
            await_(driver.execute(sql))
    except Exception as error:
        raise exc.DBAPIError.instance(
            sql, None, error, _base_error(error, sync.dialect.loaded_dbapi), dialect=sync.dialect
        ) from error


def begin_sqlite_write(sync: Connection, sql: str, busy_timeout_ms: int) -> None:
    """Send a SQLite write transaction's ``BEGIN IMMEDIATE``: on the calling thread when
    the lock is free at once (no wait, no thread hop), else on the driver's thread,
    where it waits up to the busy timeout without holding the event loop."""
    if not _observed(sync):
        driver: Any = sync.connection.driver_connection
        raw = driver._conn
        raw.execute("PRAGMA busy_timeout=0")
        try:
            raw.execute(sql)
            return
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                raise exc.DBAPIError.instance(
                    sql, None, error, sqlite3.Error, dialect=sync.dialect
                ) from error
        finally:
            raw.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    send_now(sync, sql)


def _holds_write_lock(sync: Connection) -> bool:
    return sync.in_transaction() and bool(sync.get_execution_options().get(WRITE_OPTION))


def _observed(sync: Any) -> bool:
    dispatch = sync.dispatch
    return bool(dispatch.before_cursor_execute or dispatch.after_cursor_execute or sync.engine.echo)


async def _wrapped(
    conn: AsyncConnection, prepared: Prepared, parameters: Any, error: Exception
) -> BaseException:
    dialect = conn.dialect
    dbapi = dialect.loaded_dbapi
    disconnect = _is_disconnect(conn, error)
    if disconnect:
        await conn.invalidate(error)
    return exc.DBAPIError.instance(
        prepared.sql,
        parameters,
        error,
        _base_error(error, dbapi),
        connection_invalidated=disconnect,
        dialect=dialect,
    )


def _base_error(error: Exception, dbapi: Any) -> type[Exception]:
    # The driver's own root exception class (sqlite3.Error, psycopg.Error), so the
    # wrapper picks SQLAlchemy's class of the same name (IntegrityError...).
    for klass in type(error).__mro__:
        if klass.__name__ == "Error" and issubclass(klass, Exception):
            return klass
    return cast(type[Exception], getattr(dbapi, "Error", Exception))


def _is_disconnect(conn: AsyncConnection, error: Exception) -> bool:
    sync = conn.sync_connection
    driver: Any = sync.connection.driver_connection if sync is not None else None
    return bool(getattr(driver, "broken", False) or getattr(driver, "closed", False))
