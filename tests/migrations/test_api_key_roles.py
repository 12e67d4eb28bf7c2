"""Runtime revision 0002: API key roles mapped both ways, and a downgrade that would widen
keys refused, on both backends."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, inspect, text

from agentfold_core.db.engine import Database
from agentfold_core.migrations import MigrationError, current, downgrade, upgrade
from tests.support.databases import TestDatabases

NOW = "2026-01-01 00:00:00"


async def _insert_key(
    database: Database, key_id: str, role: str, project: str | None, agent: str | None = None
) -> None:
    async with database.write() as conn:
        await conn.execute(
            text(
                "INSERT INTO api_keys (tenant_id, id, created_at, updated_at, public_id,"
                " key_hash, key_prefix, project_id, agent_id, role)"
                " VALUES ('t', :id, :now, :now, :id, 'h', 'p', :project, :agent, :role)"
            ),
            {"id": key_id, "now": NOW, "project": project, "agent": agent, "role": role},
        )


async def _roles(database: Database) -> dict[str, tuple[Any, ...]]:
    async with database.read() as conn:
        rows = await conn.execute(text("SELECT id, role, project_id, agent_id FROM api_keys"))
        return {row[0]: tuple(row[1:]) for row in rows}


def _api_keys_schema(conn: Connection) -> tuple[bool, set[str]]:
    inspector = inspect(conn)
    project = next(c for c in inspector.get_columns("api_keys") if c["name"] == "project_id")
    checks = {str(c["name"]) for c in inspector.get_check_constraints("api_keys")}
    return bool(project["nullable"]), checks


async def _schema(database: Database) -> tuple[bool, set[str]]:
    async with database.read() as conn:
        return await conn.run_sync(_api_keys_schema)


async def _at_0001_with_old_keys(database: Database) -> None:
    await upgrade(database, "0001")
    async with database.write() as conn:
        await conn.execute(
            text(
                "INSERT INTO tenants (id, created_at, updated_at, name) VALUES ('t', :n, :n, 'T')"
            ),
            {"n": NOW},
        )
        await conn.execute(
            text(
                "INSERT INTO project_metadata (tenant_id, id, created_at, updated_at,"
                " main_branch_name) VALUES ('t', 'p', :n, :n, 'main')"
            ),
            {"n": NOW},
        )
    for key_id, role, agent in [
        ("run", "run", None),
        ("run-agent", "run", "a"),
        ("member", "member", None),
        ("member-agent", "member", "a"),
        ("admin", "admin", None),
        ("admin-agent", "admin", "a"),
    ]:
        await _insert_key(database, key_id, role, "p", agent)


async def test_upgrade_maps_old_roles_without_widening_any_key(empty: TestDatabases) -> None:
    runtime = empty.runtime
    await _at_0001_with_old_keys(runtime)
    assert await _schema(runtime) == (False, set())

    await upgrade(runtime, "0002")
    assert await _roles(runtime) == {
        "run": ("runner", "p", None),
        "run-agent": ("runner", "p", "a"),
        "member": ("editor", "p", None),
        "member-agent": ("runner", "p", "a"),
        "admin": ("editor", "p", None),
        "admin-agent": ("runner", "p", "a"),
    }
    assert await _schema(runtime) == (True, {"ck_api_keys_role_binding"})
    await _insert_key(runtime, "tenant-wide", "admin", None)

    # Back: a tenant-wide admin key has no project to fall back to, so the downgrade refuses
    # and changes nothing.
    with pytest.raises(MigrationError, match=r"1 tenant-wide admin key\(s\) and 0 viewer"):
        await downgrade(runtime, "0001")
    assert (await current(runtime)).revisions == ("0002",)
    assert (await _roles(runtime))["tenant-wide"] == ("admin", None, None)

    async with runtime.write() as conn:
        await conn.execute(text("DELETE FROM api_keys WHERE id = 'tenant-wide'"))
        await conn.execute(text("UPDATE api_keys SET role = 'viewer' WHERE id = 'member'"))
    with pytest.raises(MigrationError, match=r"0 tenant-wide admin key\(s\) and 1 viewer"):
        await downgrade(runtime, "0001")

    async with runtime.write() as conn:
        await conn.execute(text("UPDATE api_keys SET role = 'editor' WHERE id = 'member'"))
    await downgrade(runtime, "0001")
    assert await _roles(runtime) == {
        "run": ("run", "p", None),
        "run-agent": ("run", "p", "a"),
        "member": ("member", "p", None),
        "member-agent": ("run", "p", "a"),
        "admin": ("member", "p", None),
        "admin-agent": ("run", "p", "a"),
    }
    assert await _schema(runtime) == (False, set())

    # And up again: the mapping holds on a second pass.
    await upgrade(runtime)
    assert (await _roles(runtime))["member"] == ("editor", "p", None)


async def test_upgrade_refuses_a_role_it_does_not_know(empty: TestDatabases) -> None:
    runtime = empty.runtime
    await _at_0001_with_old_keys(runtime)
    await _insert_key(runtime, "odd", "superuser", "p")
    with pytest.raises(MigrationError, match=r"1 row\(s\) have a role other than"):
        await upgrade(runtime)
    assert (await current(runtime)).revisions == ("0001",)
    assert (await _roles(runtime))["member"] == ("member", "p", None)
