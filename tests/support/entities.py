"""Every data-access entity, read from the registry, so new entities are covered by
the generic tests as soon as they are registered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentfold_core.data_access.crud import Entity
from agentfold_core.data_access.doors import Db
from agentfold_core.data_access.registry import OPERATIONS, REGISTRY, Registered
from agentfold_core.data_access.scope_keys import resolve
from agentfold_core.db.columns import ScopeLevel
from agentfold_core.scopes import AgentScope, ProjectScope, SubAgentScope, TenantScope

AnyEntity = Entity[Any]

__all__ = ["OPERATIONS", "AnyEntity", "all_entities", "entity_for", "functions", "ident"]


def all_entities() -> tuple[AnyEntity, ...]:
    """Every registered entity, sorted by table."""
    return tuple(sorted((e.entity for e in REGISTRY), key=lambda e: e.traits.name))


def registered(entity: AnyEntity) -> Registered:
    """The registry entry of ``entity``."""
    return REGISTRY.of(entity)


def entity_for(table: str) -> AnyEntity:
    """The entity over ``table``."""
    return REGISTRY.table(table).entity


def is_manage(entity: AnyEntity) -> bool:
    """Whether the entity lives in the manage database."""
    return REGISTRY.of(entity).database == "manage"


def scope_key(entity: AnyEntity, scope: TenantScope) -> dict[str, Any]:
    """The key columns ``scope`` fixes for the entity's rows."""
    return entity.scope_key(resolve(scope))


def scope_at(
    level: ScopeLevel,
    *,
    tenant: str,
    project: str,
    ref: str,
    agent: str,
    sub_agent: str,
) -> TenantScope:
    """The scope object of ``level`` built from the given ids."""
    if level is ScopeLevel.TENANT:
        return TenantScope(tenant)
    if level is ScopeLevel.PROJECT:
        return ProjectScope(tenant, project, ref=ref)
    if level is ScopeLevel.AGENT:
        return AgentScope(tenant, project, agent, ref=ref)
    return SubAgentScope(tenant, project, agent, sub_agent, ref=ref)


def ident(entity: AnyEntity, row_id: str) -> dict[str, str]:
    """The id keyword addressing a row (none for a row that is its own scope)."""
    return {} if entity.id_param is None else {entity.id_param: row_id}


@dataclass(frozen=True)
class Functions:
    """The six curried functions of an entity: its public ones, else the entity's own
    (for operations reserved to a dedicated function, which tests still exercise)."""

    get: Callable[[Db], Any]
    list: Callable[[Db], Any]
    create: Callable[[Db], Any]
    update: Callable[[Db], Any]
    upsert: Callable[[Db], Any]
    delete: Callable[[Db], Any]
    public: frozenset[str]


def functions(entity: AnyEntity) -> Functions:
    """The curried functions tests call for ``entity``."""
    entry = REGISTRY.of(entity)
    chosen = {
        op: entry.function(op) if op in entry.operations else getattr(entity, op)
        for op in OPERATIONS
    }
    return Functions(**chosen, public=entry.operations)
