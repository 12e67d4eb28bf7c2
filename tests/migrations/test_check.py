"""``check``: the models against the schema the migration head builds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Column, Index, Integer, MetaData, String, Table, UniqueConstraint, text

from agentfold_core.migrations import check, current, spec_for
from agentfold_core.migrations import spec as spec_module
from tests.migrations.conftest import Agentfold
from tests.support.databases import TestDatabases, create_test_databases, drop_test_databases


def _copy(metadata: MetaData) -> MetaData:
    copy = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(copy)
    return copy


def drifted_manage_models() -> MetaData:
    """The manage models with one change of each kind check must notice."""
    models = _copy(spec_for("manage").metadata)
    agents = models.tables["agents"]
    agents.append_column(Column("color", String(16), nullable=False))  # new column
    agents.c["execution_mode"].type = String(64)  # type change (was VARCHAR(32))
    agents.c["prompt"].nullable = False  # nullability change
    Index("ix_agents_name", agents.c["name"])  # new index
    agents.append_constraint(UniqueConstraint("tenant_id", "name", name="uq_agents_name"))
    models.remove(models.tables["sub_agent_skills"])  # dropped table
    Table(
        "agent_notes",  # new table
        models,
        Column("id", Integer, primary_key=True),
    )
    return models


EXPECTED = {
    "table agent_notes: in the models, missing from the migrated schema",
    "table sub_agent_skills: in the migrated schema, not in the models",
    "column agents.color (VARCHAR(16) NOT NULL): in the models, missing from the migrated schema",
    "column agents.execution_mode: type VARCHAR(32) in the migrated schema, "
    "VARCHAR(64) in the models",
    "column agents.prompt: NULL in the migrated schema, NOT NULL in the models",
    "index ix_agents_name on agents(name): in the models, missing from the migrated schema",
    "unique constraint uq_agents_name on agents(tenant_id, name): "
    "in the models, missing from the migrated schema",
}


async def test_check_passes_on_the_real_models(empty: TestDatabases) -> None:
    for database in (empty.manage, empty.runtime):
        report = await check(database)
        assert report.ok, report.differences
        assert report.heads == (await current(database)).heads


async def test_check_names_each_difference_of_a_drifted_model(empty: TestDatabases) -> None:
    report = await check(empty.manage, metadata=drifted_manage_models())
    assert not report.ok
    assert set(report.differences) == EXPECTED
    assert report.fix_command.startswith("agentfold db revision --db manage --autogenerate")


async def test_check_leaves_the_database_as_it_was(empty: TestDatabases) -> None:
    await check(empty.runtime)
    state = await current(empty.runtime)
    assert state.revisions == ()
    async with empty.runtime.read() as conn:
        tables = await conn.run_sync(lambda sync: sync.dialect.get_table_names(sync))
    assert "tenants" not in tables


async def test_check_notices_a_missing_sqlite_trigger(tmp_path: Path) -> None:
    # SQLite only: PostgreSQL nulls the column natively, without triggers.
    dbs = await create_test_databases("sqlite", tmp_path)
    try:
        async with dbs.manage.write() as conn:
            await conn.execute(text("DROP TRIGGER trg_tools_credential_reference_id_set_null"))
        report = await check(dbs.manage)
    finally:
        await drop_test_databases(dbs)
    assert report.differences == (
        "trigger trg_tools_credential_reference_id_set_null: "
        "in the models, missing from the migrated schema",
    )


def test_cli_check_fails_on_a_temporary_model_change(
    empty: TestDatabases,
    agentfold: Callable[[TestDatabases | None], Agentfold],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = agentfold(empty)
    passing = run("db", "check", "--db", "all")
    assert passing.status == 0, passing.err
    assert "manage: the models and the migration head (0006) agree" in passing.out
    assert "runtime: the models and the migration head (0006) agree" in passing.out

    real = spec_module.load_metadata
    drifted = drifted_manage_models()
    monkeypatch.setattr(
        spec_module, "load_metadata", lambda role: drifted if role == "manage" else real(role)
    )
    failing = run("db", "check", "--db", "all")
    assert failing.status == 1
    assert (
        "manage: the models and the migration head (0006) disagree (7 differences):" in failing.out
    )
    for line in EXPECTED:
        assert f"  - {line}" in failing.out
    assert "  fix: agentfold db revision --db manage --autogenerate" in failing.out
    assert "runtime: the models and the migration head (0006) agree" in failing.out
