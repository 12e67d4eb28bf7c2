"""Projects span both databases: creation writes both or neither."""

from __future__ import annotations

from typing import Any, NoReturn

import pytest

from agentfold_core.data_access.doors import Unit
from agentfold_core.data_access.manage.projects import PROJECTS, get_project
from agentfold_core.data_access.project_lifecycle import (
    create_project,
    delete_project,
    project_exists,
)
from agentfold_core.data_access.runtime.project_metadata import (
    PROJECT_METADATA,
    get_project_metadata,
)
from agentfold_core.data_access.runtime.tenants import get_tenant
from agentfold_core.errors import Conflict, NotFound, ValidationFailed
from agentfold_core.scopes import ProjectScope, TenantScope
from tests.conftest import Ids
from tests.support.databases import TestDatabases
from tests.support.graph import snapshot


class InjectedFailure(Exception):
    """Raised on purpose between the two halves of a project creation."""


def _fail(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise InjectedFailure("injected")


async def _state(dbs: TestDatabases, scope: ProjectScope) -> tuple[Any, Any, bool]:
    return (
        await get_project(dbs.manage)(scopes=scope),
        await get_project_metadata(dbs.runtime)(scopes=scope),
        await project_exists(dbs.runtime)(scopes=scope),
    )


async def test_create_project_writes_both_databases(databases: TestDatabases, ids: Ids) -> None:
    scope = ProjectScope(ids.tenant, ids.project)
    assert await _state(databases, scope) == (None, None, False)
    row = await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(ids.tenant),
        data={
            "id": ids.project,
            "name": "Support",
            "description": "Desk",
            "models": {"base": {"model": "gpt-4.1"}},
            "created_by": "alice",
        },
    )
    assert (row.tenant_id, row.id, row.branch, row.name) == (
        ids.tenant,
        ids.project,
        "main",
        "Support",
    )
    assert row.models is not None
    assert row.models.base is not None
    assert row.models.base.model == "gpt-4.1"
    assert await get_project(databases.manage)(scopes=scope) == row
    meta = await get_project_metadata(databases.runtime)(scopes=scope)
    assert meta is not None
    assert (meta.main_branch_name, meta.created_by) == ("main", "alice")
    assert await project_exists(databases.runtime)(scopes=scope) is True
    tenant = await get_tenant(databases.runtime)(scopes=TenantScope(ids.tenant))
    assert tenant is not None
    assert tenant.id == ids.tenant


async def test_failure_of_the_manage_step_leaves_neither_half(
    databases: TestDatabases, ids: Ids, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(PROJECTS, "insert_row", _fail)
    with pytest.raises(InjectedFailure):
        await create_project(databases.manage, databases.runtime)(
            scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
        )
    monkeypatch.undo()
    assert await _state(databases, ProjectScope(ids.tenant, ids.project)) == (None, None, False)
    # The tenant row made on the way was rolled back with the runtime transaction.
    assert await get_tenant(databases.runtime)(scopes=TenantScope(ids.tenant)) is None
    assert await snapshot(databases, [ids.tenant]) == set()


async def test_failure_of_the_final_runtime_commit_removes_the_manage_row(
    databases: TestDatabases, ids: Ids, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The runtime transaction ends last, after the manage one committed: fail its end.
    finish = Unit.finish

    async def _fail_runtime_finish(self: Unit, *, last: bool = False) -> None:
        if self.database is databases.runtime:
            raise InjectedFailure
        await finish(self, last=last)

    monkeypatch.setattr(Unit, "finish", _fail_runtime_finish)
    with pytest.raises(InjectedFailure):
        await create_project(databases.manage, databases.runtime)(
            scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
        )
    monkeypatch.undo()
    assert await _state(databases, ProjectScope(ids.tenant, ids.project)) == (None, None, False)
    assert await snapshot(databases, [ids.tenant]) == set()


async def test_leftover_manage_row_makes_creation_fail_cleanly(
    databases: TestDatabases, ids: Ids
) -> None:
    """A manage row without runtime metadata (a half-project) is a conflict, and the
    runtime half is not written."""
    scope = ProjectScope(ids.tenant, ids.project)
    stale = await PROJECTS.upsert(databases.manage)(scopes=scope, data={"name": "Stale"})
    with pytest.raises(Conflict):
        await create_project(databases.manage, databases.runtime)(
            scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "New"}
        )
    assert await _state(databases, scope) == (stale, None, False)


async def test_creating_an_existing_project_is_a_conflict_and_changes_nothing(
    databases: TestDatabases, ids: Ids
) -> None:
    create = create_project(databases.manage, databases.runtime)
    await create(
        scopes=TenantScope(ids.tenant),
        data={"id": ids.project, "name": "First", "created_by": "alice"},
    )
    scope = ProjectScope(ids.tenant, ids.project)
    before = await _state(databases, scope)
    rows = await snapshot(databases, [ids.tenant])
    with pytest.raises(Conflict):
        await create(
            scopes=TenantScope(ids.tenant),
            data={"id": ids.project, "name": "Second", "created_by": "bob"},
        )
    assert await _state(databases, scope) == before
    assert await snapshot(databases, [ids.tenant]) == rows


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"id": "new", "name": "P"}, "id"),
        ({"id": "has space", "name": "P"}, "id"),
        ({"id": "p", "name": ""}, "name"),
        ({"id": "p", "name": "P", "branch": "x"}, "branch"),
    ],
)
async def test_create_project_rejects_bad_input(
    databases: TestDatabases, ids: Ids, data: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as info:
        await create_project(databases.manage, databases.runtime)(
            scopes=TenantScope(ids.tenant), data=data
        )
    assert [e["field"] for e in info.value.errors] == [field]
    assert await snapshot(databases, [ids.tenant]) == set()


async def test_project_exists_follows_runtime_metadata(databases: TestDatabases, ids: Ids) -> None:
    scope = ProjectScope(ids.tenant, ids.project)
    exists = project_exists(databases.runtime)
    assert await exists(scopes=scope) is False
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    assert await exists(scopes=scope) is True
    # Without its manage row the project still exists (metadata is the source of truth)...
    assert await PROJECTS.delete(databases.manage)(scopes=scope) is True
    assert await exists(scopes=scope) is True
    # ...and without its metadata it does not, whatever the manage database holds.
    await PROJECTS.upsert(databases.manage)(scopes=scope, data={"name": "P"})
    assert await PROJECT_METADATA.delete(databases.runtime)(scopes=scope) is True
    assert await exists(scopes=scope) is False
    # Another tenant's project of the same id is another project.
    assert await exists(scopes=ProjectScope(ids.other_tenant, ids.project)) is False


async def test_delete_project_of_a_missing_project_is_not_found(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = ProjectScope(ids.tenant, ids.project)
    with pytest.raises(NotFound):
        await delete_project(databases.manage, databases.runtime)(scopes=scope)
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    assert await delete_project(databases.manage, databases.runtime)(scopes=scope) is True
    assert await _state(databases, scope) == (None, None, False)
    with pytest.raises(NotFound):
        await delete_project(databases.manage, databases.runtime)(scopes=scope)
