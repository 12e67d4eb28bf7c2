"""The one place that turns a scope into key values, and a ref into a branch.

``resolve`` is the step every door runs first. Today a ref names a branch; versioning
will make it return what a tag or commit resolves to (a materialised read-only
branch) without changing any caller, because everything downstream reads the
``Target`` and never the ref.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentfold_core.db.columns import ScopeLevel
from agentfold_core.db.traits import TableTraits
from agentfold_core.errors import ReadOnlyRef, field_error
from agentfold_core.scopes import (
    DEFAULT_BRANCH,
    AgentScope,
    ProjectScope,
    SubAgentScope,
    TenantScope,
    is_branch_name,
)

SCOPE_TYPES: dict[ScopeLevel, type[TenantScope]] = {
    ScopeLevel.TENANT: TenantScope,
    ScopeLevel.PROJECT: ProjectScope,
    ScopeLevel.AGENT: AgentScope,
    ScopeLevel.SUB_AGENT: SubAgentScope,
}


@dataclass(frozen=True, slots=True)
class Target:
    """A scope as the data layer addresses rows: its ids and the branch they live on."""

    scope: TenantScope
    # The ``branch`` column of versioned rows; a tenant scope reads the default branch.
    branch: str

    @property
    def tenant_id(self) -> str:
        """The tenant every statement of this target is confined to."""
        return self.scope.tenant_id

    def key(
        self, traits: TableTraits, level: ScopeLevel | None = None, *, every_branch: bool = False
    ) -> dict[str, Any]:
        """The key columns this target fixes for a table, read at ``level`` (default: the
        table's own level; a self-scoped row keeps its scope id in ``id``). With
        ``every_branch`` the branch is left free (a project's rows on all branches)."""
        values = key_values(self, traits, level or traits.level)
        if every_branch:
            values.pop("branch", None)
        return values

    def columns(self) -> dict[str, Any]:
        """Every scope column this target fixes, by column name (branch included)."""
        scope = self.scope
        values: dict[str, Any] = {"tenant_id": scope.tenant_id}
        if isinstance(scope, ProjectScope):
            values["project_id"] = scope.project_id
            values["branch"] = self.branch
        if isinstance(scope, AgentScope):
            values["agent_id"] = scope.agent_id
        if isinstance(scope, SubAgentScope):
            values["sub_agent_id"] = scope.sub_agent_id
        return values


def resolve(scope: TenantScope, *, write: bool = False) -> Target:
    """What ``scope`` addresses: the branch its ref names.

    A read may name any ref: one that is not a branch (a tag, a commit, ``main~1``) is
    resolved by version control when a branch read finds nothing
    (``versioning.reads.read_at_ref``). A write must name a branch: a ref with a
    revision suffix is a ``ReadOnlyRef`` here, and a name that is not a branch is
    refused when the write commits.
    """
    if not isinstance(scope, ProjectScope):
        return Target(scope, DEFAULT_BRANCH)
    if write and not is_branch_name(scope.ref):
        message = f"ref {scope.ref!r} names a commit: only branches can be written"
        raise ReadOnlyRef(message, errors=[field_error("ref", message, "read_only_ref")])
    return Target(scope, scope.ref)


def key_values(target: Target, traits: TableTraits, level: ScopeLevel) -> dict[str, Any]:
    """The key-column values ``target`` fixes for a table with ``traits`` at ``level``."""
    scope = target.scope
    expected = SCOPE_TYPES[level]
    if not isinstance(scope, expected):
        raise TypeError(f"{traits.name} needs a {expected.__name__}, got {type(scope).__name__}")
    if traits.self_scoped:
        return _self_key(target, traits, level)
    values: dict[str, Any] = {"tenant_id": scope.tenant_id}
    if level is ScopeLevel.TENANT:
        return values
    if isinstance(scope, ProjectScope):
        values["project_id"] = scope.project_id
        if traits.versioned:
            values["branch"] = target.branch
    if isinstance(scope, AgentScope) and level in (ScopeLevel.AGENT, ScopeLevel.SUB_AGENT):
        values["agent_id"] = scope.agent_id
    if isinstance(scope, SubAgentScope) and level is ScopeLevel.SUB_AGENT:
        values["sub_agent_id"] = scope.sub_agent_id
    return values


def _self_key(target: Target, traits: TableTraits, level: ScopeLevel) -> dict[str, Any]:
    # A row that *is* its scope (a tenant, a project) keeps the scope id in ``id``; read
    # one level up (projects of a tenant) it is filtered by tenant (and branch) only.
    scope = target.scope
    if traits.level is ScopeLevel.TENANT:
        return {"id": scope.tenant_id}
    values: dict[str, Any] = {"tenant_id": scope.tenant_id}
    if level is ScopeLevel.PROJECT and isinstance(scope, ProjectScope):
        values["id"] = scope.project_id
    if traits.versioned:
        values["branch"] = target.branch
    return values
