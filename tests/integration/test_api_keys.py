"""API keys: issued once in plaintext, stored hashed, verified, expired and revoked; roles
bind a key to the whole tenant (admin), one project (editor, viewer) or one project and
optionally one agent (runner)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from agentfold_core.data_access.doors import writing
from agentfold_core.data_access.project_lifecycle import create_project, delete_project
from agentfold_core.data_access.runtime.api_keys import (
    API_KEYS,
    PUBLIC_COLUMNS,
    get_api_key,
    issue_api_key,
    list_api_keys,
    revoke_api_key,
    update_api_key,
    verify_api_key,
)
from agentfold_core.db.runtime.schema import ApiKeyPublic
from agentfold_core.db.types import utcnow
from agentfold_core.errors import InvalidReference, NotFound, ValidationFailed
from agentfold_core.scopes import ProjectScope, TenantScope
from tests.conftest import Ids
from tests.support.databases import TestDatabases


async def _project(databases: TestDatabases, ids: Ids) -> TenantScope:
    tenant = TenantScope(ids.tenant)
    await create_project(databases.manage, databases.runtime)(
        scopes=tenant, data={"id": ids.project, "name": "P"}
    )
    return tenant


async def _stored_hash(databases: TestDatabases, tenant: TenantScope, key_id: str) -> str:
    table = API_KEYS.table
    async with databases.runtime.read() as conn:
        found = await conn.execute(
            select(table.c.key_hash).where(
                table.c.tenant_id == tenant.tenant_id, table.c.id == key_id
            )
        )
        return str(found.scalar_one())


def _hides_the_hash(row: Any) -> None:
    assert isinstance(row, ApiKeyPublic)
    assert not hasattr(row, "key_hash")
    assert "key_hash" not in row.model_dump()
    assert "scrypt$" not in repr(row)


async def test_issue_and_verify(databases: TestDatabases, ids: Ids) -> None:
    tenant = await _project(databases, ids)
    runtime = databases.runtime
    issued = await issue_api_key(runtime)(
        scopes=tenant, data={"name": "ci", "project_id": ids.project, "agent_id": "triage"}
    )
    assert issued.key.startswith(f"af_{issued.row.public_id}.")
    assert issued.key.startswith(issued.row.key_prefix)
    assert issued.row.role == "runner"
    _hides_the_hash(issued.row)
    stored_hash = await _stored_hash(databases, tenant, issued.row.id)
    assert stored_hash.startswith("scrypt$")
    assert issued.key not in stored_hash

    verified = await verify_api_key(runtime)(key=issued.key)
    assert verified is not None
    _hides_the_hash(verified)
    assert (verified.tenant_id, verified.project_id, verified.agent_id) == (
        ids.tenant,
        ids.project,
        "triage",
    )
    stored = await get_api_key(runtime)(scopes=tenant, api_key_id=issued.row.id)
    assert stored is not None
    assert stored.last_used_at is not None
    assert stored.last_used_at == verified.last_used_at

    wrong_secret = issued.key[:-4] + ("AAAA" if not issued.key.endswith("AAAA") else "BBBB")
    for bad in (wrong_secret, "af_nope", "", issued.key + "x", "Bearer " + issued.key):
        assert await verify_api_key(runtime)(key=bad) is None


# ---------------------------------------------------------------------- roles


async def test_admin_key_covers_the_whole_tenant(databases: TestDatabases, ids: Ids) -> None:
    tenant = TenantScope(ids.tenant)
    await _project(databases, ids)
    issued = await issue_api_key(databases.runtime)(
        scopes=tenant, data={"name": "ops", "role": "admin"}
    )
    assert (issued.row.role, issued.row.project_id, issued.row.agent_id) == ("admin", None, None)
    verified = await verify_api_key(databases.runtime)(key=issued.key)
    assert verified is not None
    assert (verified.tenant_id, verified.role, verified.project_id) == (ids.tenant, "admin", None)
    listed = await list_api_keys(databases.runtime)(scopes=tenant)
    assert [(r.id, r.project_id) for r in listed.data] == [(issued.row.id, None)]


async def test_deleting_a_project_deletes_its_keys_not_the_tenant_wide_ones(
    databases: TestDatabases, ids: Ids
) -> None:
    tenant = await _project(databases, ids)
    runtime = databases.runtime
    project_key = await issue_api_key(runtime)(
        scopes=tenant, data={"role": "viewer", "project_id": ids.project}
    )
    admin = await issue_api_key(runtime)(scopes=tenant, data={"role": "admin"})
    assert await delete_project(databases.manage, runtime)(
        scopes=ProjectScope(ids.tenant, ids.project)
    )
    assert await get_api_key(runtime)(scopes=tenant, api_key_id=project_key.row.id) is None
    assert await verify_api_key(runtime)(key=project_key.key) is None
    assert await verify_api_key(runtime)(key=admin.key) is not None


@pytest.mark.parametrize(
    ("role", "binding", "fields"),
    [
        ("admin", {"project_id": "PROJECT"}, ["project_id"]),
        ("admin", {"project_id": "PROJECT", "agent_id": "triage"}, ["project_id", "agent_id"]),
        ("admin", {"agent_id": "triage"}, ["agent_id"]),
        ("editor", {}, ["project_id"]),
        ("viewer", {}, ["project_id"]),
        ("runner", {}, ["project_id"]),
        ("runner", {"agent_id": "triage"}, ["project_id"]),
        ("viewer", {"project_id": "PROJECT", "agent_id": "triage"}, ["agent_id"]),
        ("editor", {"project_id": "PROJECT", "agent_id": "triage"}, ["agent_id"]),
    ],
)
async def test_a_binding_that_does_not_fit_the_role_is_rejected(
    databases: TestDatabases, ids: Ids, role: str, binding: dict[str, str], fields: list[str]
) -> None:
    tenant = await _project(databases, ids)
    data = {"role": role, **{k: ids.project if v == "PROJECT" else v for k, v in binding.items()}}
    with pytest.raises(ValidationFailed) as info:
        await issue_api_key(databases.runtime)(scopes=tenant, data=data)
    errors = info.value.errors
    assert [e["field"] for e in errors] == fields
    assert all(e["type"] == "api_key_role_binding" and role in e["message"] for e in errors)
    assert info.value.context["resource"] == "api_key"
    assert (await list_api_keys(databases.runtime)(scopes=tenant)).pagination.total == 0


@pytest.mark.parametrize(
    ("role", "agent"), [("editor", None), ("viewer", None), ("runner", None), ("runner", "a")]
)
async def test_project_roles_with_their_binding_are_accepted(
    databases: TestDatabases, ids: Ids, role: str, agent: str | None
) -> None:
    tenant = await _project(databases, ids)
    issued = await issue_api_key(databases.runtime)(
        scopes=tenant, data={"role": role, "project_id": ids.project, "agent_id": agent}
    )
    verified = await verify_api_key(databases.runtime)(key=issued.key)
    assert verified is not None
    assert (verified.role, verified.project_id, verified.agent_id) == (role, ids.project, agent)


async def test_role_change_must_fit_the_binding(databases: TestDatabases, ids: Ids) -> None:
    tenant = await _project(databases, ids)
    runtime = databases.runtime
    editor = await issue_api_key(runtime)(
        scopes=tenant, data={"role": "editor", "project_id": ids.project}
    )
    viewer = await update_api_key(runtime)(
        scopes=tenant, api_key_id=editor.row.id, data={"role": "viewer"}
    )
    assert viewer is not None
    assert viewer.role == "viewer"
    _hides_the_hash(viewer)
    with pytest.raises(ValidationFailed) as info:
        await update_api_key(runtime)(
            scopes=tenant, api_key_id=editor.row.id, data={"role": "admin"}
        )
    assert [e["field"] for e in info.value.errors] == ["project_id"]

    bound = await issue_api_key(runtime)(
        scopes=tenant, data={"project_id": ids.project, "agent_id": "triage"}
    )
    with pytest.raises(ValidationFailed) as info:
        await update_api_key(runtime)(
            scopes=tenant, api_key_id=bound.row.id, data={"role": "viewer"}
        )
    assert [e["field"] for e in info.value.errors] == ["agent_id"]
    after = await get_api_key(runtime)(scopes=tenant, api_key_id=bound.row.id)
    assert after is not None
    assert after.role == "runner"
    assert (
        await update_api_key(runtime)(scopes=tenant, api_key_id="ghost", data={"role": "viewer"})
        is None
    )


async def test_the_database_rejects_a_binding_that_does_not_fit_the_role(
    databases: TestDatabases, ids: Ids
) -> None:
    tenant = await _project(databases, ids)
    table = API_KEYS.table
    now = utcnow()
    base = {
        "tenant_id": tenant.tenant_id,
        "created_at": now,
        "updated_at": now,
        "public_id": "rawpublicid00001",
        "key_hash": "scrypt$1$1$1$x$y",
        "key_prefix": "af_raw",
    }
    wrong: list[dict[str, Any]] = [
        {"id": "raw-1", "role": "admin", "project_id": ids.project},
        {"id": "raw-2", "role": "viewer"},
        {"id": "raw-3", "role": "editor", "project_id": ids.project, "agent_id": "a"},
        {"id": "raw-4", "role": "runner"},
        {"id": "raw-5", "role": "member", "project_id": ids.project},
    ]
    for values in wrong:
        with pytest.raises(IntegrityError, match="ck_api_keys_role_binding"):
            async with databases.runtime.write() as conn:
                await conn.execute(insert(table).values(**base, **values))
        # The data layer's own insert maps the same failure to a domain error.
        with pytest.raises(ValidationFailed):
            async with writing(databases.runtime, tenant) as access:
                await API_KEYS.insert_row(access, {**base, **values})
    assert (await list_api_keys(databases.runtime)(scopes=tenant)).pagination.total == 0


# ---------------------------------------------------------------------- secrets


async def test_reads_never_return_the_hash(databases: TestDatabases, ids: Ids) -> None:
    tenant = await _project(databases, ids)
    runtime = databases.runtime
    issued = await issue_api_key(runtime)(scopes=tenant, data={"project_id": ids.project})
    admin = await issue_api_key(runtime)(scopes=tenant, data={"role": "admin"})
    assert set(ApiKeyPublic.model_fields) == set(PUBLIC_COLUMNS)
    assert set(PUBLIC_COLUMNS) == set(API_KEYS.traits.columns) - {"key_hash"}

    got = await get_api_key(runtime)(scopes=tenant, api_key_id=issued.row.id)
    assert got is not None
    _hides_the_hash(got)
    assert got.tenant_id == ids.tenant
    page = await list_api_keys(runtime)(scopes=tenant)
    assert [r.id for r in page.data] == [admin.row.id, issued.row.id]
    for row in page.data:
        _hides_the_hash(row)
    assert "key_hash" not in page.model_dump_json()
    revoked = await revoke_api_key(runtime)(scopes=tenant, api_key_id=issued.row.id)
    _hides_the_hash(revoked)
    # Not even as a filter.
    with pytest.raises(ValidationFailed) as info:
        await list_api_keys(runtime)(scopes=tenant, where={"key_hash": "scrypt$x"})
    assert [e["field"] for e in info.value.errors] == ["key_hash"]


async def test_api_models_hide_the_hash(databases: TestDatabases, ids: Ids) -> None:
    tenant = await _project(databases, ids)
    issued = await issue_api_key(databases.runtime)(scopes=tenant, data={"project_id": ids.project})
    page = await list_api_keys(databases.runtime)(scopes=tenant)
    shown = API_KEYS.models.api_select.model_validate(page.data[0]).model_dump()
    assert "key_hash" not in shown
    assert shown["public_id"] == issued.row.public_id
    with pytest.raises(ValidationFailed):
        await issue_api_key(databases.runtime)(
            scopes=tenant, data={"project_id": ids.project, "key_hash": "x"}
        )
    with pytest.raises(ValidationFailed):
        await update_api_key(databases.runtime)(
            scopes=tenant, api_key_id=issued.row.id, data={"project_id": "elsewhere"}
        )


# ---------------------------------------------------------------------- lifetime


async def test_expired_and_revoked_keys_fail(databases: TestDatabases, ids: Ids) -> None:
    tenant = await _project(databases, ids)
    runtime = databases.runtime
    expired = await issue_api_key(runtime)(
        scopes=tenant,
        data={"project_id": ids.project, "expires_at": utcnow() - timedelta(seconds=1)},
    )
    assert await verify_api_key(runtime)(key=expired.key) is None

    live = await issue_api_key(runtime)(scopes=tenant, data={"project_id": ids.project})
    assert await verify_api_key(runtime)(key=live.key) is not None
    revoked = await revoke_api_key(runtime)(scopes=tenant, api_key_id=live.row.id)
    assert revoked.revoked_at is not None
    assert await verify_api_key(runtime)(key=live.key) is None
    with pytest.raises(NotFound):
        await revoke_api_key(runtime)(scopes=tenant, api_key_id="missing")
    # Another tenant's key is as missing as a key that does not exist.
    with pytest.raises(NotFound):
        await revoke_api_key(runtime)(scopes=TenantScope(ids.other_tenant), api_key_id=live.row.id)


async def test_revocation_is_final(databases: TestDatabases, ids: Ids) -> None:
    tenant = await _project(databases, ids)
    runtime = databases.runtime
    issued = await issue_api_key(runtime)(scopes=tenant, data={"project_id": ids.project})
    first = await revoke_api_key(runtime)(scopes=tenant, api_key_id=issued.row.id)
    assert first.revoked_at is not None

    again = await revoke_api_key(runtime)(scopes=tenant, api_key_id=issued.row.id)
    assert again.revoked_at == first.revoked_at
    assert again.updated_at == first.updated_at

    for data in ({"revoked_at": None}, {"name": "back", "revoked_at": None}):
        with pytest.raises(ValidationFailed) as info:
            await update_api_key(runtime)(scopes=tenant, api_key_id=issued.row.id, data=data)
        assert [e["field"] for e in info.value.errors] == ["revoked_at"]
    later = utcnow() + timedelta(days=1)
    with pytest.raises(ValidationFailed):
        await update_api_key(runtime)(
            scopes=tenant, api_key_id=issued.row.id, data={"revoked_at": later}
        )
    stored = await get_api_key(runtime)(scopes=tenant, api_key_id=issued.row.id)
    assert stored is not None
    assert stored.revoked_at == first.revoked_at
    assert stored.name is None
    assert await verify_api_key(runtime)(key=issued.key) is None


async def test_key_for_unknown_project_is_rejected(databases: TestDatabases, ids: Ids) -> None:
    tenant = await _project(databases, ids)
    with pytest.raises(InvalidReference):
        await issue_api_key(databases.runtime)(scopes=tenant, data={"project_id": "ghost"})
    assert (await list_api_keys(databases.runtime)(scopes=tenant)).pagination.total == 0
