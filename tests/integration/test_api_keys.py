"""API keys: issued once in plaintext, stored hashed, verified, expired and revoked."""

from __future__ import annotations

from datetime import timedelta

import pytest

from agentfold_core.data_access.project_lifecycle import create_project
from agentfold_core.data_access.runtime.api_keys import (
    get_api_key,
    issue_api_key,
    list_api_keys,
    revoke_api_key,
    update_api_key,
    verify_api_key,
)
from agentfold_core.db.types import utcnow
from agentfold_core.errors import InvalidReference, NotFound, ValidationFailed
from agentfold_core.scopes import TenantScope
from tests.conftest import Ids
from tests.support.databases import TestDatabases


async def _project(databases: TestDatabases, ids: Ids) -> TenantScope:
    tenant = TenantScope(ids.tenant)
    await create_project(databases.manage, databases.runtime)(
        scopes=tenant, data={"id": ids.project, "name": "P"}
    )
    return tenant


async def test_issue_and_verify(databases: TestDatabases, ids: Ids) -> None:
    tenant = await _project(databases, ids)
    runtime = databases.runtime
    issued = await issue_api_key(runtime)(
        scopes=tenant, data={"name": "ci", "project_id": ids.project, "agent_id": "triage"}
    )
    assert issued.key.startswith(f"af_{issued.row.public_id}.")
    assert issued.key.startswith(issued.row.key_prefix)
    assert issued.key not in issued.row.key_hash
    assert issued.row.key_hash.startswith("scrypt$")

    verified = await verify_api_key(runtime)(key=issued.key)
    assert verified is not None
    assert (verified.tenant_id, verified.project_id, verified.agent_id) == (
        ids.tenant,
        ids.project,
        "triage",
    )
    stored = await get_api_key(runtime)(scopes=tenant, api_key_id=issued.row.id)
    assert stored is not None
    assert stored.last_used_at is not None

    wrong_secret = issued.key[:-4] + ("AAAA" if not issued.key.endswith("AAAA") else "BBBB")
    for bad in (wrong_secret, "af_nope", "", issued.key + "x", "Bearer " + issued.key):
        assert await verify_api_key(runtime)(key=bad) is None


async def test_api_models_hide_the_hash(databases: TestDatabases, ids: Ids) -> None:
    tenant = await _project(databases, ids)
    issued = await issue_api_key(databases.runtime)(scopes=tenant, data={"project_id": ids.project})
    page = await list_api_keys(databases.runtime)(scopes=tenant)
    from agentfold_core.data_access.runtime.api_keys import API_KEYS

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


async def test_key_for_unknown_project_is_rejected(databases: TestDatabases, ids: Ids) -> None:
    tenant = await _project(databases, ids)
    with pytest.raises(InvalidReference):
        await issue_api_key(databases.runtime)(scopes=tenant, data={"project_id": "ghost"})
    assert (await list_api_keys(databases.runtime)(scopes=tenant)).pagination.total == 0
