"""Reinstalling the capture triggers of version control in a migrated manage database.

A capture trigger dropped by hand (or by a revision that rebuilt a table and forgot
them) is not brought back by ``upgrade``, which has nothing left to apply: this does
it, under the migration lock, in one transaction.
"""

from __future__ import annotations

from sqlalchemy import Connection

from agentfold_core.db.engine import Database
from agentfold_core.migrations.errors import MigrationError
from agentfold_core.migrations.locking import OnWait
from agentfold_core.migrations.session import database_exists, migration_connection
from agentfold_core.migrations.spec import spec_for
from agentfold_core.versioning.capture_check import (
    MissingCapture,
    install_capture_triggers,
    missing_capture_triggers,
)

REPAIR_TRIGGERS = "agentfold vc repair-triggers"


def _repair(connection: Connection) -> list[MissingCapture]:
    missing = missing_capture_triggers(connection)
    install_capture_triggers(connection, [m.table for m in missing])
    return missing


async def repair_capture_triggers(
    database: Database, *, on_wait: OnWait | None = None
) -> list[MissingCapture]:
    """Reinstall every missing or disabled capture trigger of the manage ``database``;
    what was missing (nothing for the runtime database, which versions nothing).

    The writes made while a trigger was missing are still outside history: verify and
    repair each project afterwards (``agentfold vc verify`` / ``vc repair``).
    """
    if database.role != "manage":
        return []
    if not database_exists(database):
        raise MigrationError(
            "the manage database does not exist yet; create it: agentfold db upgrade --db manage"
        )
    spec = spec_for(database.role)
    async with migration_connection(database, spec, on_wait or (lambda _: None)) as connection:
        return await connection.run_sync(_repair)
