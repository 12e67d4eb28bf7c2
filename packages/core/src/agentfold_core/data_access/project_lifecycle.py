"""Projects span both databases: runtime ``project_metadata`` says a project exists,
the manage database holds its configuration. These helpers keep the two in step.

No transaction spans the two databases. Creation writes the runtime row first and
commits it last: if the manage step fails the runtime transaction rolls back, and if
the final runtime commit fails the manage rows this call committed are deleted again.
A concurrent creation of the same project waits on the uncommitted runtime row, then
fails with ``Conflict``: nothing it did not create is ever compensated away.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pydantic import BaseModel, ConfigDict, Field

from agentfold_core.content import ModelSettings, StopWhen
from agentfold_core.data_access.doors import Access, Db, reading, writing
from agentfold_core.data_access.manage.projects import PROJECTS
from agentfold_core.data_access.runtime.project_metadata import PROJECT_METADATA
from agentfold_core.data_access.runtime.tenants import TENANTS
from agentfold_core.db.engine import Database
from agentfold_core.db.fields import ResourceId
from agentfold_core.db.manage.schema import ProjectRow
from agentfold_core.errors import Conflict, NotFound
from agentfold_core.scopes import DEFAULT_BRANCH, ProjectScope, TenantScope
from agentfold_core.validation import Data, validate_input
from agentfold_core.versioning.project import forget_project

Populate = Callable[[Access], Awaitable[None]]


class ProjectAlreadyExists(Conflict):
    """The project to create exists (perhaps created concurrently a moment ago)."""


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
        async with reading(runtime, scopes) as access:
            key = PROJECT_METADATA.scope_key(access.target)
            return await PROJECT_METADATA.fetch(access, key) is not None

    return _exists


async def create_project_with(
    manage: Database,
    runtime: Database,
    tenant: TenantScope,
    project: ProjectCreate,
    populate: Populate | None = None,
) -> ProjectRow:
    """Create ``project`` in both databases or in neither; ``populate`` writes more of
    it (a whole document) in the same manage transaction as its row."""
    scope = ProjectScope(tenant.tenant_id, project.id, ref=DEFAULT_BRANCH)
    fields = project.model_dump(exclude={"created_by"})
    manage_committed = False
    try:
        async with writing(runtime, scope) as runtime_access:
            tenant_row = TENANTS.insert_values(runtime_access.target, {"name": tenant.tenant_id})
            # Concurrent creations in a new tenant must all find it: insert if absent.
            await TENANTS.insert_if_absent(runtime_access, tenant_row)
            meta = PROJECT_METADATA.insert_values(
                runtime_access.target,
                {"main_branch_name": DEFAULT_BRANCH, "created_by": project.created_by},
            )
            if not await PROJECT_METADATA.insert_if_absent(runtime_access, meta):
                raise ProjectAlreadyExists(
                    "project already exists", resource="project", key={"project_id": project.id}
                )
            message = f"Create project {project.id}"
            async with writing(manage, scope, message=message) as access:
                values = PROJECTS.insert_values(access.target, fields)
                row = await PROJECTS.insert_row(access, values)
                if populate is not None:
                    await populate(access)
            manage_committed = True
    except BaseException:
        if manage_committed:
            # Only the final runtime commit can fail here: undo this call's manage rows.
            async with writing(manage, scope) as access:
                await PROJECTS.delete_scope(access, _every_branch(access))
                await forget_project(access.conn, scope.tenant_id, scope.project_id)
        raise
    return row


def create_project(manage: Database, runtime: Database) -> Callable[..., Awaitable[ProjectRow]]:
    """Curried: create a project in both databases, or in neither."""

    async def _create(*, scopes: TenantScope, data: Data) -> ProjectRow:
        project = validate_input(ProjectCreate, data, "project")
        return await create_project_with(manage, runtime, scopes, project)

    return _create


def _every_branch(access: Access) -> dict[str, str]:
    return access.target.key(PROJECTS.traits, every_branch=True)


def delete_project(manage: Database, runtime: Database) -> Callable[..., Awaitable[bool]]:
    """Curried: delete a project from both databases (every branch, every runtime row)."""

    async def _delete(*, scopes: ProjectScope) -> bool:
        async with writing(runtime, scopes) as runtime_access:
            key = PROJECT_METADATA.scope_key(runtime_access.target)
            if not await PROJECT_METADATA.delete_keys(runtime_access, [key]):
                raise NotFound(
                    "project not found", resource="project", key={"project_id": scopes.project_id}
                )
            # Manage rows on every branch go; the runtime delete commits only after.
            message = f"Delete project {scopes.project_id}"
            async with writing(manage, scopes, message=message) as access:
                await PROJECTS.delete_scope(access, _every_branch(access))
                # Its history goes with it: every branch, commit, tag and row image.
                await forget_project(access.conn, scopes.tenant_id, scopes.project_id)
        return True

    return _delete
