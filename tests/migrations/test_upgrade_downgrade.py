"""Upgrading an empty database, downgrading to base and upgrading again, on both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, MetaData, inspect, text

from agentfold_core.db.engine import Database
from agentfold_core.migrations import (
    MigrationObserver,
    PlannedStep,
    Role,
    check,
    current,
    downgrade,
    revisions,
    spec_for,
    upgrade,
)
from tests.support.databases import (
    Backend,
    TestDatabases,
    create_test_databases,
    drop_test_databases,
)


def _pairs(dbs: TestDatabases) -> list[tuple[Role, Database]]:
    return [("manage", dbs.manage), ("runtime", dbs.runtime)]


async def _tables(database: Database) -> set[str]:
    async with database.read() as conn:
        return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


async def _triggers(database: Database) -> set[str]:
    if database.backend != "sqlite":
        return set()
    async with database.read() as conn:
        rows = await conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
        return {str(row[0]) for row in rows}


class Recorder(MigrationObserver):
    """Keeps what a run reported."""

    def __init__(self) -> None:
        self.plans: list[tuple[PlannedStep, ...]] = []
        self.done: list[tuple[int, str]] = []

    def planned(self, role: Role, steps: tuple[PlannedStep, ...]) -> None:
        self.plans.append(steps)

    def step_done(self, role: Role, index: int, step: Any) -> None:
        self.done.append((index, step.revision))


async def test_upgrade_from_empty_reaches_head_and_matches_the_models(
    empty: TestDatabases,
) -> None:
    for role, database in _pairs(empty):
        heads = tuple(info.revision for info in revisions(role) if info.is_head)
        recorder = Recorder()
        result = await upgrade(database, observer=recorder)
        assert result.from_revisions == ()
        assert result.to_revisions == heads
        assert [step.revision for step in result.steps] == [
            info.revision for info in reversed(revisions(role))
        ]
        assert all(step.seconds >= 0 for step in result.steps)
        assert recorder.done == [(i + 1, s.revision) for i, s in enumerate(result.steps)]
        assert [p.revision for p in recorder.plans[0]] == [s.revision for s in result.steps]
        state = await current(database)
        assert state.at_head
        assert state.revisions == heads
        spec = spec_for(role)
        assert await _tables(database) == {*spec.metadata.tables, spec.version_table}
        report = await check(database)
        assert report.ok, report.differences


async def test_upgrade_at_head_does_nothing(empty: TestDatabases) -> None:
    await upgrade(empty.manage)
    again = await upgrade(empty.manage)
    assert again.steps == ()
    assert again.from_revisions == again.to_revisions == (await current(empty.manage)).heads


async def test_downgrade_to_base_then_upgrade_again(empty: TestDatabases) -> None:
    for role, database in _pairs(empty):
        spec = spec_for(role)
        await upgrade(database)
        down = await downgrade(database, "base")
        assert down.to_revisions == ()
        assert down.direction == "downgrade"
        assert {step.direction for step in down.steps} == {"downgrade"}
        # Only the (empty) version table is left: no table, index or trigger survives.
        assert await _tables(database) == {spec.version_table}
        assert await _triggers(database) == set()
        assert (await current(database)).revisions == ()
        up = await upgrade(database)
        assert up.from_revisions == ()
        assert up.to_revisions == (await current(database)).heads
        report = await check(database)
        assert report.ok, report.differences


def _snapshot(conn: Connection, metadata: MetaData) -> dict[str, Any]:
    # Everything a schema is made of, as the database itself reports it.
    inspector = inspect(conn)
    snapshot: dict[str, Any] = {}
    for name in sorted(metadata.tables):
        snapshot[name] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                for c in inspector.get_columns(name)
            ],
            "pk": inspector.get_pk_constraint(name),
            "fks": sorted(
                (
                    fk["name"] or "",
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    tuple(fk["referred_columns"]),
                    tuple(sorted(fk.get("options", {}).items())),
                )
                for fk in inspector.get_foreign_keys(name)
            ),
            "indexes": sorted(
                (ix["name"] or "", tuple(ix["column_names"]), bool(ix["unique"]))
                for ix in inspector.get_indexes(name)
            ),
            "uniques": sorted(
                (uq["name"] or "", tuple(uq["column_names"]))
                for uq in inspector.get_unique_constraints(name)
            ),
            # Autogenerate and `check` do not compare CHECK constraints: this does.
            "checks": sorted(
                (ck["name"] or "", " ".join(str(ck["sqltext"]).split()))
                for ck in inspector.get_check_constraints(name)
            ),
        }
    if conn.dialect.name == "sqlite":
        rows = conn.execute(text("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'"))
        snapshot["<triggers>"] = sorted((str(r[0]), str(r[1])) for r in rows)
    return snapshot


async def test_migrated_schema_equals_create_all(backend: Backend, tmp_path: Path) -> None:
    """Upgrading an empty database yields exactly what the models would create."""
    migrated = await create_test_databases(backend, tmp_path / "migrated")
    created = await create_test_databases(backend, tmp_path / "created", schema=False)
    try:
        for role in ("manage", "runtime"):
            metadata = spec_for(role).metadata
            target = created.manage if role == "manage" else created.runtime
            source = migrated.manage if role == "manage" else migrated.runtime
            async with target.engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
            async with source.read() as conn:
                from_migrations = await conn.run_sync(_snapshot, metadata)
            async with target.read() as conn:
                from_models = await conn.run_sync(_snapshot, metadata)
            assert from_migrations == from_models
    finally:
        await drop_test_databases(migrated)
        await drop_test_databases(created)
