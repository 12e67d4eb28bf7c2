"""Column groups shared by the tables: the scope key mixins, ids, timestamps, names.

Field order matters: it is the key order, and every key starts with ``tenant_id``.
SQLModel lays out the fields of the *last* base first, so tables list their mixins
as ``(Timestamps, UiProperties, Identified, <key mixin>)``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from sqlmodel import SQLModel

from agentfold_core.db.fields import (
    RefName,
    ResourceId,
    branch_field,
    derived_id_field,
    id_field,
    name_field,
    scope_field,
    text_field,
    timestamp_field,
)


class ScopeLevel(StrEnum):
    """How deep in the tenant/project/agent/sub-agent tree a table lives."""

    TENANT = "tenant"
    PROJECT = "project"
    AGENT = "agent"
    SUB_AGENT = "sub_agent"


class TenantKey(SQLModel):
    """Runtime rows of a tenant."""

    __scope_level__: ClassVar[ScopeLevel] = ScopeLevel.TENANT
    __versioned__: ClassVar[bool] = False
    __self_scoped__: ClassVar[bool] = False
    tenant_id: ResourceId = scope_field()


class ProjectKey(TenantKey):
    """Runtime rows of a project."""

    __scope_level__: ClassVar[ScopeLevel] = ScopeLevel.PROJECT
    project_id: ResourceId = scope_field()


class AgentKey(ProjectKey):
    """Runtime rows of an agent."""

    __scope_level__: ClassVar[ScopeLevel] = ScopeLevel.AGENT
    agent_id: ResourceId = scope_field()


class VersionedProjectKey(TenantKey):
    """Manage rows of a project, on one branch."""

    __scope_level__: ClassVar[ScopeLevel] = ScopeLevel.PROJECT
    __versioned__: ClassVar[bool] = True
    project_id: ResourceId = scope_field()
    branch: RefName = branch_field()


class VersionedAgentKey(VersionedProjectKey):
    """Manage rows of an agent, on one branch."""

    __scope_level__: ClassVar[ScopeLevel] = ScopeLevel.AGENT
    agent_id: ResourceId = scope_field()


class VersionedSubAgentKey(VersionedAgentKey):
    """Manage rows of a sub-agent, on one branch."""

    __scope_level__: ClassVar[ScopeLevel] = ScopeLevel.SUB_AGENT
    sub_agent_id: ResourceId = scope_field()


class TenantRootKey(SQLModel):
    """The tenant row itself: ``id`` is the tenant id."""

    __scope_level__: ClassVar[ScopeLevel] = ScopeLevel.TENANT
    __versioned__: ClassVar[bool] = False
    __self_scoped__: ClassVar[bool] = True
    id: ResourceId = id_field()


class ProjectRootKey(SQLModel):
    """A project's own row: ``id`` is the project id."""

    __scope_level__: ClassVar[ScopeLevel] = ScopeLevel.PROJECT
    __versioned__: ClassVar[bool] = False
    __self_scoped__: ClassVar[bool] = True
    tenant_id: ResourceId = scope_field()
    id: ResourceId = id_field()


class VersionedProjectRootKey(ProjectRootKey):
    """A project's own manage row, on one branch."""

    __versioned__: ClassVar[bool] = True
    branch: RefName = branch_field()


class Identified(SQLModel):
    """A user-chosen id, last column of the key."""

    id: ResourceId = id_field()


class DerivedIdentified(SQLModel):
    """A relation id derived from the natural key, last column of the key."""

    id: str = derived_id_field()


class Timestamps(SQLModel):
    """Creation and last-update times, set by the data layer."""

    created_at: datetime = timestamp_field(server_generated=True)
    updated_at: datetime = timestamp_field(server_generated=True)


class UiProperties(SQLModel):
    """What people see: a name and a description."""

    name: str = name_field()
    description: str | None = text_field()
