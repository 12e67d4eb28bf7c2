"""The connection every migration run uses: locked, in one transaction, SQLite FKs off.

SQLite batch operations copy a table, drop the original and rename the copy; with
foreign keys enforced, dropping a referenced table would cascade into its children,
so enforcement is off for the run and ``PRAGMA foreign_key_check`` vouches for the
result before the commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from agentfold_core.db import row_scope
from agentfold_core.db.diagnose import describe_failure
from agentfold_core.db.engine import Database
from agentfold_core.db.prepared import WRITE_OPTION
from agentfold_core.migrations.errors import MigrationError
from agentfold_core.migrations.locking import OnWait, postgres_advisory_lock, sqlite_file_lock
from agentfold_core.migrations.spec import EnvironmentSpec


def sqlite_file(database: Database) -> Path | None:
    """The file of a SQLite database; ``None`` for PostgreSQL or an in-memory database."""
    name = database.engine.url.database
    if database.backend != "sqlite" or not name or name == ":memory:":
        return None
    return Path(name)


def database_exists(database: Database) -> bool:
    """Whether connecting could find a schema (a SQLite file that is not there has none)."""
    path = sqlite_file(database)
    return path is None or path.exists()


@contextmanager
def database_errors(role: str) -> Iterator[None]:
    """Re-raise driver errors (unreachable server, missing database...) as one-line errors."""
    try:
        yield
    except DBAPIError as exc:
        raise MigrationError(describe_failure(role, exc)) from exc


def _set_sqlite_foreign_keys(connection: Connection, enabled: bool) -> None:
    # The pragma is ignored inside a transaction, and SQLAlchemy would begin one before
    # any statement it runs: issue it on the driver connection directly.
    driver = connection.connection.dbapi_connection
    if driver is None:
        raise MigrationError("the SQLite connection has no driver connection")
    cursor = driver.cursor()
    try:
        cursor.execute(f"PRAGMA foreign_keys={'ON' if enabled else 'OFF'}")
    finally:
        cursor.close()


def _check_sqlite_foreign_keys(connection: Connection) -> None:
    rows = connection.execute(text("PRAGMA foreign_key_check")).all()
    if rows:
        found = ", ".join(f"{row[0]} row {row[1]} -> {row[2]}" for row in rows[:10])
        raise MigrationError(
            f"the migration left {len(rows)} rows with dangling foreign keys ({found}); "
            "nothing was committed"
        )


@asynccontextmanager
async def migration_connection(
    database: Database, spec: EnvironmentSpec, on_wait: OnWait, *, commit: bool = True
) -> AsyncIterator[AsyncConnection]:
    """A connection in a write transaction holding ``spec``'s migration lock.

    The transaction commits on success when ``commit`` is set and rolls back otherwise.
    """
    sqlite = database.backend == "sqlite"
    async with AsyncExitStack() as stack:
        stack.enter_context(database_errors(spec.role))
        path = sqlite_file(database)
        if path is not None:
            # Lock before connecting: connecting may create the file and switch it to WAL.
            await stack.enter_async_context(sqlite_file_lock(path, on_wait))
        connection = await stack.enter_async_context(database.engine.connect())
        if sqlite:
            await connection.run_sync(_set_sqlite_foreign_keys, False)
            stack.push_async_callback(connection.run_sync, _set_sqlite_foreign_keys, True)
        await connection.execution_options(**{WRITE_OPTION: True})
        # Migrations move rows of every tenant: past the row-level security policies
        # as the owner (``db.row_security``).
        row_scope.bind(connection, None, system=True)
        transaction = await connection.begin()
        try:
            if not sqlite:
                await connection.run_sync(postgres_advisory_lock, spec.lock_key, spec.role, on_wait)
            yield connection
            if sqlite:
                await connection.run_sync(_check_sqlite_foreign_keys)
        except BaseException:
            await transaction.rollback()
            raise
        if commit:
            await transaction.commit()
        else:
            await transaction.rollback()
