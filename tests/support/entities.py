"""Every data-access entity, found by introspection, so new entities are covered by the
generic tests without anyone remembering to list them."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any, cast

import agentfold_core.data_access.manage as manage_package
import agentfold_core.data_access.runtime as runtime_package
from agentfold_core.data_access.connection import Db
from agentfold_core.data_access.crud import Entity
from agentfold_core.db.base import manage_metadata, runtime_metadata
from agentfold_core.db.columns import ScopeLevel
from agentfold_core.scopes import AgentScope, ProjectScope, SubAgentScope, TenantScope

AnyEntity = Entity[Any]

ENTITY_PACKAGES: tuple[ModuleType, ...] = (manage_package, runtime_package)


@cache
def entity_modules() -> tuple[ModuleType, ...]:
    """Every module of ``data_access/manage`` and ``data_access/runtime``."""
    modules = []
    for package in ENTITY_PACKAGES:
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
            modules.append(importlib.import_module(f"{package.__name__}.{info.name}"))
    return tuple(modules)


@cache
def all_entities() -> tuple[AnyEntity, ...]:
    """Every module-level ``Entity`` of those modules (each once), sorted by table."""
    found: dict[int, AnyEntity] = {}
    for module in entity_modules():
        for value in vars(module).values():
            if isinstance(value, Entity):
                found.setdefault(id(value), value)
    return tuple(sorted(found.values(), key=lambda e: e.traits.name))


def entity_for(table: str) -> AnyEntity:
    """The entity over ``table``."""
    for entity in all_entities():
        if entity.traits.name == table:
            return entity
    raise KeyError(f"no entity over table {table!r}")


def is_manage(entity: AnyEntity) -> bool:
    """Whether the entity lives in the manage database."""
    if entity.table.metadata is manage_metadata:
        return True
    assert entity.table.metadata is runtime_metadata, entity.traits.name
    return False


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


OPERATIONS = ("get", "list", "create", "update", "upsert", "delete")
# Public list functions whose name is not ``list_<label>s``.
IRREGULAR_NAMES = {("feedback", "list"): "list_feedback_entries"}


def public_name(entity: AnyEntity, operation: str) -> str:
    """The conventional public name of ``operation`` on ``entity`` (``get_agent``...)."""
    irregular = IRREGULAR_NAMES.get((entity.label, operation))
    if irregular:
        return irregular
    if operation != "list":
        return f"{operation}_{entity.label}"
    label = entity.label
    consonant_y = label.endswith("y") and label[-2:-1] not in ("a", "e", "i", "o", "u")
    plural = f"{label[:-1]}ies" if consonant_y else f"{label}s"
    return f"list_{plural}"


def public_function(entity: AnyEntity, operation: str) -> Callable[[Db], Any] | None:
    """The module-level public function of ``operation`` on ``entity``, if exported."""
    name = public_name(entity, operation)
    for module in entity_modules():
        value = getattr(module, name, None)
        if callable(value):
            return cast(Callable[[Db], Any], value)
    return None


@dataclass(frozen=True)
class Functions:
    """The six curried functions of an entity: the public ones where the entity's
    module exports them (wrappers included), else the entity's own."""

    get: Callable[[Db], Any]
    list: Callable[[Db], Any]
    create: Callable[[Db], Any]
    update: Callable[[Db], Any]
    upsert: Callable[[Db], Any]
    delete: Callable[[Db], Any]
    public: frozenset[str]


def functions(entity: AnyEntity) -> Functions:
    """The curried functions tests call for ``entity``."""
    chosen: dict[str, Callable[[Db], Any]] = {}
    public = set()
    for operation in OPERATIONS:
        found = public_function(entity, operation)
        if found is not None:
            public.add(operation)
        chosen[operation] = found or getattr(entity, operation)
    return Functions(**chosen, public=frozenset(public))
