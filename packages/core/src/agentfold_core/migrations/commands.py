"""Upgrade, downgrade, current and offline SQL for one database, as async library calls."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from time import perf_counter
from typing import Any

from alembic import command
from alembic.runtime.migration import MigrationInfo
from alembic.script import Script, ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from agentfold_core.db.engine import Database, parse_database_url
from agentfold_core.migrations.config import CONNECTION, DIALECT, ON_STEP, build_config
from agentfold_core.migrations.errors import MigrationError
from agentfold_core.migrations.history import current_heads, current_state
from agentfold_core.migrations.results import (
    AppliedStep,
    CurrentState,
    Direction,
    MigrationObserver,
    MigrationResult,
    PlannedStep,
)
from agentfold_core.migrations.session import (
    database_errors,
    database_exists,
    migration_connection,
)
from agentfold_core.migrations.spec import EnvironmentSpec, spec_for

SCHEMA_AUTHOR = "agentfold"


@contextmanager
def alembic_errors() -> Iterator[None]:
    """Re-raise Alembic's command errors (unknown revision, several heads...) as ours."""
    try:
        yield
    except (CommandError, RevisionError) as exc:
        raise MigrationError(str(exc)) from exc


def _plan(
    scripts: ScriptDirectory, direction: Direction, target: str, heads: tuple[str, ...]
) -> tuple[PlannedStep, ...]:
    # The same walk Alembic makes for the run itself (ScriptDirectory._upgrade_revs and
    # _downgrade_revs), taken up front so progress can say "step 2 of 5".
    found: list[Script]
    if direction == "upgrade":
        found = list(scripts.iterate_revisions(target, heads, implicit_base=True))
        found.reverse()
    else:
        found = list(scripts.iterate_revisions(heads, target, select_for_downgrade=True))
    return tuple(PlannedStep(s.revision, s.doc, direction) for s in found)


def _migrate_sync(
    connection: Connection,
    spec: EnvironmentSpec,
    direction: Direction,
    target: str,
    observer: MigrationObserver,
) -> MigrationResult:
    started = perf_counter()
    config = build_config(spec, attributes={CONNECTION: connection})
    scripts = ScriptDirectory.from_config(config)
    before = current_heads(connection, spec)
    with alembic_errors():
        plan = _plan(scripts, direction, target, before)
    observer.planned(spec.role, plan)
    messages = {step.revision: step.message for step in plan}
    applied: list[AppliedStep] = []
    mark = perf_counter()

    def on_step(*, step: MigrationInfo, **_: Any) -> None:
        nonlocal mark
        now = perf_counter()
        revision = step.up_revision_id or ""
        done = AppliedStep(
            revision=revision,
            message=messages.get(revision, ""),
            direction="upgrade" if step.is_upgrade else "downgrade",
            seconds=now - mark,
        )
        mark = now
        applied.append(done)
        observer.step_done(spec.role, len(applied), done)

    config.attributes[ON_STEP] = on_step
    with alembic_errors():
        if direction == "upgrade":
            command.upgrade(config, target)
        else:
            command.downgrade(config, target)
    return MigrationResult(
        role=spec.role,
        direction=direction,
        from_revisions=before,
        to_revisions=current_heads(connection, spec),
        steps=tuple(applied),
        seconds=perf_counter() - started,
    )


async def _migrate(
    database: Database, direction: Direction, target: str, observer: MigrationObserver | None
) -> MigrationResult:
    spec = spec_for(database.role)
    watcher = observer or MigrationObserver()
    async with migration_connection(
        database, spec, lambda message: watcher.waiting(spec.role, message)
    ) as connection:
        result = await connection.run_sync(_migrate_sync, spec, direction, target, watcher)
        if spec.role == "manage" and direction == "upgrade" and result.steps:
            result = await _rehash(connection, spec, result)
        return result


async def _rehash(
    connection: AsyncConnection, spec: EnvironmentSpec, result: MigrationResult
) -> MigrationResult:
    # Only at head do the tables match the models the row images are hashed from; an
    # upgrade to an older revision leaves the heads for the one that reaches head.
    heads = ScriptDirectory.from_config(build_config(spec)).get_heads()
    if set(heads) != set(result.to_revisions):
        return result
    from agentfold_core.versioning.verify import rehash_heads  # the models, loaded late

    revision = ", ".join(result.to_revisions)
    made = await rehash_heads(
        connection, message=f"Upgrade the schema to {revision}", author=SCHEMA_AUTHOR
    )
    return replace(result, commits=tuple(made))


async def upgrade(
    database: Database, target: str = "head", *, observer: MigrationObserver | None = None
) -> MigrationResult:
    """Apply the revisions up to ``target`` (all by default), in one locked transaction."""
    return await _migrate(database, "upgrade", target, observer)


async def downgrade(
    database: Database, target: str, *, observer: MigrationObserver | None = None
) -> MigrationResult:
    """Revert revisions down to ``target`` ("base", a revision id or "-1"), in one transaction."""
    return await _migrate(database, "downgrade", target, observer)


async def current(database: Database) -> CurrentState:
    """Which revisions the database has applied; read-only (a missing SQLite file stays so)."""
    spec = spec_for(database.role)
    if not database_exists(database):
        return current_state(None, spec)
    with database_errors(spec.role):
        async with database.read() as connection:
            return await connection.run_sync(current_state, spec)


def offline_sql(role: str, url: str, direction: Direction, target: str) -> str:
    """The SQL an upgrade or downgrade to ``target`` would run, without connecting.

    ``url`` only chooses the SQL dialect. A downgrade needs a ``from:to`` range (for
    example ``0002:0001``) since nothing says where the database stands.
    """
    spec = spec_for(role)
    buffer = io.StringIO()
    dialect = parse_database_url(url, role).get_backend_name()
    config = build_config(spec, output=buffer, attributes={DIALECT: dialect})
    with alembic_errors():
        if direction == "upgrade":
            command.upgrade(config, target, sql=True)
        else:
            command.downgrade(config, target, sql=True)
    return buffer.getvalue()
