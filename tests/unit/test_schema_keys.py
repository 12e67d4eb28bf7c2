"""Keys of both schemas: every key is scoped and starts with ``tenant_id`` (so the schema
can be distributed by tenant), foreign keys stay inside one database and one scope, and
constraint names are deterministic and unique."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    ForeignKeyConstraint,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql
from sqlmodel import SQLModel

import agentfold_core.db.manage.schema
import agentfold_core.db.runtime.schema  # noqa: F401 - registers the runtime tables
from agentfold_core.db.base import (
    INTERNAL,
    ManageBase,
    RuntimeBase,
    entity_tables,
    manage_metadata,
    runtime_metadata,
)
from agentfold_core.db.columns import ScopeLevel
from agentfold_core.db.traits import TableTraits, table_traits

SCOPE_KEYS: dict[ScopeLevel, tuple[str, ...]] = {
    ScopeLevel.TENANT: ("tenant_id",),
    ScopeLevel.PROJECT: ("tenant_id", "project_id"),
    ScopeLevel.AGENT: ("tenant_id", "project_id", "agent_id"),
    ScopeLevel.SUB_AGENT: ("tenant_id", "project_id", "agent_id", "sub_agent_id"),
}
SCOPE_COLUMN_NAMES = {"tenant_id", "project_id", "branch", "agent_id", "sub_agent_id"}

# Tables whose primary key does not start with tenant_id, each with the reason.
PRIMARY_KEY_ALLOW_LIST = {
    "tenants": "the runtime tenant row itself: its `id` column is the tenant id",
}
# Non-unique indexes that do not start with tenant_id (they constrain nothing, so they
# do not stop distributing tables by tenant), each with the reason.
INDEX_ALLOW_LIST = {
    "ix_api_keys_public_id_lookup": (
        "authentication finds an API key by its public id before the tenant is known"
    ),
    "ix_agent_runs_status_heartbeat": (
        "the stuck-run sweep finds stale running runs of every tenant at once"
    ),
}

METADATAS = {"manage": manage_metadata, "runtime": runtime_metadata}
POSTGRESQL = postgresql.dialect()  # type: ignore[no-untyped-call]
MAX_IDENTIFIER = POSTGRESQL.max_identifier_length
PG = POSTGRESQL.identifier_preparer


def table_classes() -> dict[str, type[SQLModel]]:
    classes: dict[str, type[SQLModel]] = {}
    for base in (ManageBase, RuntimeBase):
        for mapper in base._sa_registry.mappers:
            table = mapper.local_table
            assert isinstance(table, Table)
            classes[table.name] = mapper.class_
    return classes


def all_tables() -> list[tuple[str, Table]]:
    return [
        (db, table)
        for db, metadata in METADATAS.items()
        for table in sorted(metadata.tables.values(), key=lambda t: t.name)
    ]


def traits_of(table: Table) -> TableTraits:
    return table_traits(table_classes()[table.name])


def expected_key(table: Table, db: str) -> list[str]:
    """The primary key the design prescribes for ``table``."""
    traits = traits_of(table)
    scope = list(SCOPE_KEYS[traits.level])
    if db == "manage":
        scope.insert(scope.index("project_id") + 1, "branch")
    if traits.self_scoped:
        # The row *is* its deepest scope: that scope's id is stored in ``id``.
        deepest = SCOPE_KEYS[traits.level][-1]
        return ["id" if c == deepest else c for c in scope]
    return [*scope, "id"]


TABLE_PARAMS = [pytest.param(db, t, id=f"{db}.{t.name}") for db, t in all_tables()]
# Tables of entities (version control's internal tables have no entity and no traits).
ENTITY_TABLE_PARAMS = [
    pytest.param(db, t, id=f"{db}.{t.name}") for db, t in all_tables() if not t.info.get(INTERNAL)
]


def test_both_schemas_are_populated_and_disjoint() -> None:
    assert len(manage_metadata.tables) >= 20
    assert len(runtime_metadata.tables) >= 10
    assert not set(manage_metadata.tables) & set(runtime_metadata.tables)
    entities = {t.name for m in METADATAS.values() for t in entity_tables(m)}
    assert set(table_classes()) == entities
    internal = set(manage_metadata.tables) - entities
    assert internal == {t.name for t in manage_metadata.tables.values() if t.info.get(INTERNAL)}


def test_allow_lists_name_real_things() -> None:
    assert set(PRIMARY_KEY_ALLOW_LIST) <= set(runtime_metadata.tables)
    index_names = {i.name for _, t in all_tables() for i in t.indexes}
    assert set(INDEX_ALLOW_LIST) <= index_names
    assert all(reason.strip() for reason in {**PRIMARY_KEY_ALLOW_LIST, **INDEX_ALLOW_LIST}.values())


@pytest.mark.parametrize(("db", "table"), TABLE_PARAMS)
def test_internal_tables_are_keyed_by_project(db: str, table: Table) -> None:
    """Version control's own tables hold a project's history: keyed by its scope."""
    if table.info.get(INTERNAL):
        assert db == "manage"
        assert [c.name for c in table.primary_key.columns][:2] == ["tenant_id", "project_id"]


@pytest.mark.parametrize(("db", "table"), ENTITY_TABLE_PARAMS)
def test_primary_key_holds_every_scope_column_in_order(db: str, table: Table) -> None:
    primary = [c.name for c in table.primary_key.columns]
    assert primary == expected_key(table, db)
    traits = traits_of(table)
    assert traits.versioned == (db == "manage")
    if db == "manage":
        assert "branch" in primary
    if table.name in PRIMARY_KEY_ALLOW_LIST:
        assert primary == ["id"]
    else:
        assert primary[0] == "tenant_id"


@pytest.mark.parametrize(("db", "table"), TABLE_PARAMS)
def test_scope_columns_are_bounded_and_required(db: str, table: Table) -> None:
    for column in table.columns:
        if column.name in SCOPE_COLUMN_NAMES and column.primary_key:
            assert isinstance(column.type, String)
            assert column.type.length == 256, column.name
            assert column.nullable is False, column.name


@pytest.mark.parametrize(("db", "table"), TABLE_PARAMS)
def test_foreign_keys_start_with_tenant_and_stay_in_scope(db: str, table: Table) -> None:
    metadata = METADATAS[db]
    for fk in table.foreign_key_constraints:
        assert isinstance(fk, ForeignKeyConstraint)
        referred = fk.referred_table
        # Inside one database: the target is a table of the same metadata.
        assert referred.metadata is metadata
        assert metadata.tables[referred.name] is referred
        pairs = [(e.parent.name, e.column.name) for e in fk.elements]
        assert pairs[0][0] == "tenant_id", fk.name
        # The FK names the target's whole primary key...
        assert {remote for _, remote in pairs} == {c.name for c in referred.primary_key.columns}
        # ...and each scope column maps onto the same scope column (or the target's own
        # id when the target is that scope), so a child cannot point into another
        # tenant, project, branch or agent.
        for local, remote in pairs:
            if remote != "id":
                assert local == remote, (fk.name, local, remote)
        if db == "manage":
            # Inside one project's branch; version control's tables: one project.
            scope = {"tenant_id", "project_id"}
            if not table.info.get(INTERNAL):
                scope.add("branch")
            assert scope <= {local for local, _ in pairs}


@pytest.mark.parametrize(("db", "table"), TABLE_PARAMS)
def test_unique_constraints_and_indexes_start_with_tenant(db: str, table: Table) -> None:
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            assert next(c.name for c in constraint.columns) == "tenant_id", constraint.name
    for index in table.indexes:
        first = next(c.name for c in index.columns)
        if index.unique or index.name not in INDEX_ALLOW_LIST:
            assert first == ("id" if table.name == "tenants" else "tenant_id"), index.name


def test_no_foreign_key_crosses_databases() -> None:
    for db, metadata in METADATAS.items():
        other = runtime_metadata if db == "manage" else manage_metadata
        for table in metadata.tables.values():
            for fk in table.foreign_keys:
                assert fk.column.table.metadata is metadata
                assert fk.target_fullname.split(".")[0] not in other.tables


# ---------------------------------------------------------------------- names


def constraint_names(metadata: MetaData) -> list[tuple[str, str, str]]:
    """``(table, kind, name as created on PostgreSQL)`` of every constraint and index."""
    result = []
    for table in sorted(metadata.tables.values(), key=lambda t: t.name):
        items: list[Any] = [*table.constraints, *table.indexes]
        for item in items:
            kind = {
                PrimaryKeyConstraint: "pk",
                ForeignKeyConstraint: "fk",
                UniqueConstraint: "uq",
                Index: "ix",
            }.get(type(item), "ck")
            name = (
                PG.format_constraint(item)
                if not isinstance(item, Index)
                else (PG.format_index(item))
            )
            result.append((table.name, kind, str(name)))
    return sorted(result)


@pytest.mark.parametrize("db", list(METADATAS))
def test_constraint_names_follow_the_naming_convention(db: str) -> None:
    names = constraint_names(METADATAS[db])
    assert names
    for table, kind, name in names:
        assert name
        assert name != "None"
        assert len(name) <= MAX_IDENTIFIER, name
        if kind == "pk":
            assert name == f"pk_{table}"
        else:
            assert re.match(rf"^{kind}_{re.escape(table)}_\w+$", name), name


@pytest.mark.parametrize("db", list(METADATAS))
def test_constraint_names_are_unique(db: str) -> None:
    names = [name for _, _, name in constraint_names(METADATAS[db])]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert not duplicates


def test_constraint_names_are_the_same_in_a_fresh_process() -> None:
    script = (
        "import json, agentfold_core.db.manage.schema, agentfold_core.db.runtime.schema\n"
        "from agentfold_core.db.base import manage_metadata, runtime_metadata\n"
        "from tests.unit.test_schema_keys import constraint_names\n"
        "print(json.dumps([constraint_names(manage_metadata),"
        " constraint_names(runtime_metadata)]))\n"
    )
    root = Path(__file__).resolve().parents[2]
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=root
    ).stdout
    fresh = json.loads(output)
    here = [constraint_names(manage_metadata), constraint_names(runtime_metadata)]
    assert fresh == [[list(item) for item in names] for names in here]
