"""The entity registry against the schemas and the modules that export the functions.

The defining module of an entity is found from the source: the module of
``data_access.manage`` / ``data_access.runtime`` with a top-level ``NAME = Entity(...)``
(modules that merely import the constant, such as the runtime cascades, do not count).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from collections import Counter
from types import ModuleType
from typing import Any

import pytest
from _pytest.mark import ParameterSet

import agentfold_core.data_access.manage as manage_package
import agentfold_core.data_access.runtime as runtime_package
from agentfold_core.data_access.crud import Entity
from agentfold_core.data_access.registry import OPERATIONS, REGISTRY, Registered
from agentfold_core.db.base import entity_tables, manage_metadata, runtime_metadata

_KEBAB = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


def _entity_definitions() -> dict[int, list[tuple[ModuleType, str]]]:
    """Entities by ``id()``: the modules (and names) that construct them at top level."""
    found: dict[int, list[tuple[ModuleType, str]]] = {}
    for package in (manage_package, runtime_package):
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            tree = ast.parse(inspect.getsource(module))
            for node in tree.body:
                value: ast.expr | None
                if isinstance(node, ast.Assign):
                    targets, value = node.targets, node.value
                elif isinstance(node, ast.AnnAssign):
                    targets, value = [node.target], node.value
                else:
                    continue
                if not (
                    isinstance(value, ast.Call)
                    and isinstance(value.func, ast.Name)
                    # Entity, or a subclass specialising it (RunEntity)
                    and value.func.id.endswith("Entity")
                ):
                    continue
                for target in targets:
                    assert isinstance(target, ast.Name)
                    entity = getattr(module, target.id)
                    assert isinstance(entity, Entity)
                    found.setdefault(id(entity), []).append((module, target.id))
    return found


_DEFINITIONS = _entity_definitions()


def _module_of(entry: Registered) -> ModuleType:
    definitions = _DEFINITIONS.get(id(entry.entity), [])
    assert len(definitions) == 1, f"{entry.table}: defined by {definitions}"
    return definitions[0][0]


def _entries() -> list[ParameterSet]:
    return [pytest.param(e, id=e.table) for e in REGISTRY]


def test_every_table_of_both_schemas_has_exactly_one_entry() -> None:
    tables = Counter(e.table for e in REGISTRY)
    entities = {t.name for m in (manage_metadata, runtime_metadata) for t in entity_tables(m)}
    assert set(tables) == entities
    assert {t for t, n in tables.items() if n != 1} == set()
    for entry in REGISTRY:
        metadata = manage_metadata if entry.database == "manage" else runtime_metadata
        # The entity is over the schema's own table object, not a copy.
        assert metadata.tables[entry.table] is entry.entity.table
    # Every entity a module defines is registered.
    registered = {id(e.entity) for e in REGISTRY}
    unregistered = [d for key, d in _DEFINITIONS.items() if key not in registered]
    assert unregistered == []


def test_names_and_path_segments() -> None:
    paths = Counter(e.path for e in REGISTRY)
    assert {p for p, n in paths.items() if n != 1} == set()
    assert [e.path for e in REGISTRY if not _KEBAB.match(e.path)] == []
    names = [(e.singular, e.plural) for e in REGISTRY]
    assert [n for n in names if not (_SNAKE.match(n[0]) and _SNAKE.match(n[1]))] == []
    # Public function names never collide across entities.
    public = Counter(e.public_name(op) for e in REGISTRY for op in e.operations)
    assert {n for n, k in public.items() if k != 1} == set()


@pytest.mark.parametrize("entry", _entries())
def test_database_follows_versioning(entry: Registered) -> None:
    versioned = entry.entity.traits.versioned
    assert entry.database == ("manage" if versioned else "runtime")
    assert (entry.table in manage_metadata.tables) == versioned
    assert entry.level is entry.entity.traits.level
    assert set(entry.operations) <= set(OPERATIONS)


@pytest.mark.parametrize("entry", _entries())
def test_modules_export_the_registered_functions(entry: Registered) -> None:
    """Each public operation is exported by the entity's module under its public name,
    as the same callable the registry gives (the entity's own operation bound to that
    very entity, or the module's override)."""
    module = _module_of(entry)
    for operation in sorted(entry.operations):
        name = entry.public_name(operation)
        exported: Any = getattr(module, name, None)
        assert exported is not None, f"{module.__name__} does not export {name}"
        given: Any = entry.function(operation)
        assert exported == given, name
        if operation in entry.overrides:
            assert exported is given, name
        else:
            assert exported.__self__ is entry.entity, name
            assert exported.__func__ is getattr(Entity, operation), name


def test_modules_export_no_operation_the_registry_reserves() -> None:
    reserved = [
        f"{_module_of(e).__name__}.{e.public_name(op)}"
        for e in REGISTRY
        for op in OPERATIONS
        if op not in e.operations and hasattr(_module_of(e), e.public_name(op))
    ]
    assert reserved == []
