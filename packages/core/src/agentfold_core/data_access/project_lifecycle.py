"""Projects span both databases: runtime ``project_metadata`` says a project exists,
the manage database holds its configuration. These helpers keep the two in step."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agentfold_core.content import ModelSettings, StopWhen
from agentfold_core.data_access.connection import Db, reading
from agentfold_core.data_access.manage.projects import PROJECTS
from agentfold_core.data_access.runtime.project_metadata import PROJECT_METADATA
from agentfold_core.data_access.runtime.tenants import TENANTS
from agentfold_core.db.engine import Database
from agentfold_core.db.fields import ResourceId
from agentfold_core.db.manage.schema import ProjectRow
from agentfold_core.errors import Conflict, NotFound
from agentfold_core.scopes import DEFAULT_BRANCH, ProjectScope, TenantScope
from agentfold_core.validation import Data, validate_input


class ProjectCreate(BaseModel):
    """What creating a project takes."""

    model_config = ConfigDict(extra="forbid")

    id: ResourceId = Field(min_length=1, max_length=255)
    name: str = Field(min_length=1, max_length=256)
    description: str | None = None
    models: ModelSettings | None = None
    stop_when: StopWhen | None = None
    created_by: str | None = Field(default=None, max_length=256)


def project_exists(runtime: Db) -> Callable[..., Awaitable[bool]]:
    """Curried: whether the project exists (runtime metadata is the source of truth)."""

    async def _exists(*, scopes: ProjectScope) -> bool:
        async with reading(runtime) as conn:
            key = PROJECT_METADATA.scope_values(scopes)
            return await PROJECT_METADATA.fetch(conn, key) is not None

    return _exists


async def _ensure_tenant(runtime_conn: Any, tenant: TenantScope) -> None:
    if await TENANTS.fetch(runtime_conn, TENANTS.scope_values(tenant)) is None:
        await TENANTS.insert_row(
            runtime_conn, TENANTS.insert_values(tenant, {"name": tenant.tenant_id})
        )


def create_project(manage: Database, runtime: Database) -> Callable[..., Awaitable[ProjectRow]]:
    """Curried: create a project in both databases, or in neither.

    The runtime row is written first but committed last; if the manage step fails the
    runtime transaction rolls back, and if the final runtime commit fails the manage
    row is deleted again.
    """

    async def _create(*, scopes: TenantScope, data: Data) -> ProjectRow:
        project = validate_input(ProjectCreate, data, "project")
        assert isinstance(project, ProjectCreate)
        scope = ProjectScope(scopes.tenant_id, project.id, ref=DEFAULT_BRANCH)
        fields = project.model_dump(exclude={"created_by"})
        async with runtime.write() as runtime_conn:
            await _ensure_tenant(runtime_conn, scopes)
            if await PROJECT_METADATA.fetch(runtime_conn, PROJECT_METADATA.scope_values(scope)):
                raise Conflict("project already exists", resource="project", key=fields["id"])
            meta = PROJECT_METADATA.insert_values(
                scope, {"main_branch_name": DEFAULT_BRANCH, "created_by": project.created_by}
            )
            await PROJECT_METADATA.insert_row(runtime_conn, meta)
            async with manage.write() as manage_conn:
                row = await PROJECTS.insert_row(manage_conn, PROJECTS.insert_values(scope, fields))
            try:
                await runtime_conn.commit()
            except BaseException:
                async with manage.write() as manage_conn:
                    await PROJECTS.delete_where(manage_conn, _project_key(scope))
                raise
        return row

    return _create


def _project_key(scope: ProjectScope) -> dict[str, Any]:
    return {"tenant_id": scope.tenant_id, "id": scope.project_id}


def delete_project(manage: Database, runtime: Database) -> Callable[..., Awaitable[bool]]:
    """Curried: delete a project from both databases (every branch, every runtime row)."""

    async def _delete(*, scopes: ProjectScope) -> bool:
        async with runtime.write() as runtime_conn:
            deleted = await PROJECT_METADATA.delete_where(
                runtime_conn, PROJECT_METADATA.scope_values(scopes)
            )
            if not deleted:
                raise NotFound("project not found", resource="project", key=scopes.project_id)
            # Manage rows on every branch go; the runtime delete commits only after.
            async with manage.write() as manage_conn:
                await PROJECTS.delete_where(manage_conn, _project_key(scopes))
        return True

    return _delete
