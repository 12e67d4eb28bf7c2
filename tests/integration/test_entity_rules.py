"""Rules live in the entity: every writer (curried functions, documents) applies them.

An agent's ``default_sub_agent_id`` and ``context_config_id`` name its own children
(soft references: checked at the end of the unit, cleared when the child goes), and
hooks registered on an entity run for the curried functions and for document imports.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from _pytest.mark import ParameterSet

from agentfold_core.data_access.crud import Hooks
from agentfold_core.data_access.documents import (
    get_full_agent,
    get_full_project,
    put_full_agent,
    put_full_project,
)
from agentfold_core.data_access.doors import Access
from agentfold_core.data_access.manage.agents import (
    AGENTS,
    SUB_AGENTS,
    create_agent,
    create_context_config,
    create_sub_agent,
    delete_context_config,
    delete_sub_agent,
    get_agent,
    update_agent,
    update_sub_agent,
    upsert_agent,
)
from agentfold_core.data_access.project_lifecycle import create_project, project_exists
from agentfold_core.errors import InvalidReference, ValidationFailed
from agentfold_core.scopes import AgentScope, ProjectScope, TenantScope
from tests.conftest import Ids
from tests.support.databases import TestDatabases
from tests.support.graph import snapshot

# ---------------------------------------------------------------------- soft references

_REFERENCES = ("default_sub_agent_id", "context_config_id")


async def _project_with_agents(databases: TestDatabases, ids: Ids) -> ProjectScope:
    """Agents ``a`` and ``b``, each with a sub-agent ``s`` and a context config ``c``;
    ``b`` also has ``only-b`` (a sub-agent and a context config ``a`` does not have)."""
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    scope = ProjectScope(ids.tenant, ids.project)
    for agent_id in ("a", "b"):
        await create_agent(databases.manage)(scopes=scope, data={"id": agent_id, "name": agent_id})
        agent = AgentScope(ids.tenant, ids.project, agent_id)
        children = ["s", "only-b"] if agent_id == "b" else ["s"]
        for child in children:
            await create_sub_agent(databases.manage)(
                scopes=agent, data={"id": child, "name": child}
            )
        for child in ["c", "only-b"] if agent_id == "b" else ["c"]:
            await create_context_config(databases.manage)(scopes=agent, data={"id": child})
    return scope


Writer = Callable[[TestDatabases, ProjectScope, str, str], Awaitable[object]]


def _writers() -> list[ParameterSet]:
    def entity_create(d: TestDatabases, s: ProjectScope, column: str, value: str) -> Any:
        return AGENTS.create(d.manage)(scopes=s, data={"id": "fresh", "name": "N", column: value})

    def create(d: TestDatabases, s: ProjectScope, column: str, value: str) -> Any:
        return create_agent(d.manage)(scopes=s, data={"id": "fresh", "name": "N", column: value})

    def update(d: TestDatabases, s: ProjectScope, column: str, value: str) -> Any:
        return update_agent(d.manage)(scopes=s, agent_id="a", data={column: value})

    def upsert(d: TestDatabases, s: ProjectScope, column: str, value: str) -> Any:
        return upsert_agent(d.manage)(scopes=s, data={"id": "a", "name": "A2", column: value})

    writers = {
        "AGENTS.create": entity_create,
        "create_agent": create,
        "update_agent": update,
        "upsert_agent": upsert,
    }
    return [
        pytest.param(writer, column, value, id=f"{name}-{column}-{value}")
        for name, writer in writers.items()
        for column in _REFERENCES
        # Missing everywhere, or a child of another agent (b's), not of this one.
        for value in ("ghost", "only-b")
    ]


@pytest.mark.parametrize(("writer", "column", "value"), _writers())
async def test_a_dangling_reference_is_an_invalid_reference_naming_the_column(
    databases: TestDatabases, ids: Ids, writer: Writer, column: str, value: str
) -> None:
    scope = await _project_with_agents(databases, ids)
    before = await snapshot(databases, [ids.tenant])
    agent_before = await get_agent(databases.manage)(scopes=scope, agent_id="a")
    with pytest.raises(InvalidReference) as caught:
        await writer(databases, scope, column, value)
    key = caught.value.context["key"]
    assert isinstance(key, Mapping)
    assert key[column] == value
    assert key["agent_id"] in {"a", "fresh"}
    assert caught.value.context["resource"] == "agent"
    assert await snapshot(databases, [ids.tenant]) == before
    assert await get_agent(databases.manage)(scopes=scope, agent_id="a") == agent_before


@pytest.mark.parametrize("column", _REFERENCES)
async def test_a_document_naming_a_missing_child_names_the_path(
    databases: TestDatabases, ids: Ids, column: str
) -> None:
    scope = ProjectScope(ids.tenant, ids.project)
    document = {
        "id": ids.project,
        "name": "P",
        "agents": {
            "a": {"name": "A", column: "ghost", "sub_agents": {"s": {"name": "S"}}},
            "b": {
                "name": "B",
                "sub_agents": {"ghost": {"name": "G"}},
                "context_configs": {"ghost": {}},
            },
        },
    }
    with pytest.raises(ValidationFailed) as caught:
        await put_full_project(databases.manage, databases.runtime)(scopes=scope, document=document)
    assert [(e["field"], e["type"]) for e in caught.value.errors] == [
        (f"agents.a.{column}", "dangling_reference")
    ]
    assert not await project_exists(databases.runtime)(scopes=scope)
    assert await snapshot(databases, [ids.tenant]) == set()

    # The same through an agent document, into an existing project.
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    before = await snapshot(databases, [ids.tenant])
    with pytest.raises(ValidationFailed) as again:
        await put_full_agent(databases.manage, databases.runtime)(
            scopes=AgentScope(ids.tenant, ids.project, "a"),
            document={"name": "A", column: "ghost", "sub_agents": {"s": {"name": "S"}}},
        )
    assert [e["field"] for e in again.value.errors] == [column]
    assert await snapshot(databases, [ids.tenant]) == before


async def test_deleting_a_child_clears_only_the_column_naming_it(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await _project_with_agents(databases, ids)
    manage = databases.manage
    for agent_id in ("a", "b"):
        await update_agent(manage)(
            scopes=scope,
            agent_id=agent_id,
            data={"default_sub_agent_id": "s", "context_config_id": "c"},
        )
    a_before = await get_agent(manage)(scopes=scope, agent_id="a")
    b_before = await get_agent(manage)(scopes=scope, agent_id="b")
    assert a_before is not None

    a = AgentScope(ids.tenant, ids.project, "a")
    assert await delete_sub_agent(manage)(scopes=a, sub_agent_id="s")
    after_sub = await get_agent(manage)(scopes=scope, agent_id="a")
    assert after_sub is not None
    assert (after_sub.default_sub_agent_id, after_sub.context_config_id) == (None, "c")
    assert after_sub.updated_at > a_before.updated_at

    assert await delete_context_config(manage)(scopes=a, context_config_id="c")
    after_config = await get_agent(manage)(scopes=scope, agent_id="a")
    assert after_config is not None
    assert (after_config.default_sub_agent_id, after_config.context_config_id) == (None, None)
    assert after_config.updated_at > after_sub.updated_at
    # Agent b names children with the same ids under itself: untouched.
    assert await get_agent(manage)(scopes=scope, agent_id="b") == b_before


async def test_a_document_may_drop_the_default_sub_agent_while_changing_the_default(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = ProjectScope(ids.tenant, ids.project)
    put = put_full_project(databases.manage, databases.runtime)
    document: dict[str, Any] = {
        "id": ids.project,
        "name": "P",
        "agents": {
            "a": {
                "name": "A",
                "default_sub_agent_id": "older",
                "context_config_id": "old-ctx",
                "sub_agents": {"older": {"name": "Old"}, "newer": {"name": "New"}},
                "context_configs": {"old-ctx": {}},
            }
        },
    }
    await put(scopes=scope, document=document)
    agent = document["agents"]["a"]
    del agent["sub_agents"]["older"]
    del agent["context_configs"]["old-ctx"]
    agent.update(default_sub_agent_id="newer", context_config_id=None)
    result = await put(scopes=scope, document=document)
    assert result.deleted == {"sub_agents": 1, "context_configs": 1}
    assert result.updated == {"agents": 1}
    stored = await get_agent(databases.manage)(scopes=scope, agent_id="a")
    assert stored is not None
    assert (stored.default_sub_agent_id, stored.context_config_id) == ("newer", None)
    exported = await get_full_project(databases.manage)(scopes=scope)
    assert exported is not None
    assert set(exported["agents"]["a"]["sub_agents"]) == {"newer"}

    # Dropping the default without changing it is refused, and changes nothing.
    before = await get_full_project(databases.manage)(scopes=scope)
    agent["sub_agents"] = {"other": {"name": "Other"}}
    with pytest.raises(ValidationFailed) as caught:
        await put(scopes=scope, document=document)
    assert [e["field"] for e in caught.value.errors] == ["agents.a.default_sub_agent_id"]
    assert await get_full_project(databases.manage)(scopes=scope) == before

    # The same change through an agent document.
    a = AgentScope(ids.tenant, ids.project, "a")
    agent_document = await get_full_agent(databases.manage)(scopes=a)
    assert agent_document is not None
    agent_document["sub_agents"] = {"other": {"name": "Other"}}
    agent_document["default_sub_agent_id"] = "other"
    result = await put_full_agent(databases.manage, databases.runtime)(
        scopes=a, document=agent_document
    )
    assert result.removed_sub_agents == (("a", "newer"),)
    stored_agent = await get_full_agent(databases.manage)(scopes=a)
    assert stored_agent is not None
    assert stored_agent["default_sub_agent_id"] == "other"
    assert set(stored_agent["sub_agents"]) == {"other"}


# ---------------------------------------------------------------------- hooks


@dataclass
class Recorder:
    """A hook recording each batch it saw (as plain dicts)."""

    calls: list[list[dict[str, Any]]] = field(default_factory=list)

    async def __call__(self, access: Access, rows: Sequence[Mapping[str, Any]]) -> None:
        assert access.unit.writes  # hooks run inside the write door
        self.calls.append([dict(r) for r in rows])

    def ids(self) -> list[list[Any]]:
        return [[r["id"] for r in batch] for batch in self.calls]


_HOOK_LISTS = ("before_insert", "before_update", "before_upsert", "before_delete")


@pytest.fixture
def sub_agent_hooks() -> Iterator[Hooks]:
    """The sub-agent entity's hooks, restored after the test."""
    hooks = SUB_AGENTS.hooks
    saved = {name: list(getattr(hooks, name)) for name in _HOOK_LISTS}
    try:
        yield hooks
    finally:
        for name, kept in saved.items():
            getattr(hooks, name)[:] = kept


def _two_agents(project_id: str) -> dict[str, Any]:
    return {
        "id": project_id,
        "name": "P",
        "agents": {
            "a": {"name": "A", "sub_agents": {"s1": {"name": "S1"}, "s2": {"name": "S2"}}},
            "b": {"name": "B", "sub_agents": {"b1": {"name": "B1"}}},
        },
    }


async def test_hooks_run_for_curried_functions(
    databases: TestDatabases, ids: Ids, sub_agent_hooks: Hooks
) -> None:
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    await create_agent(databases.manage)(
        scopes=ProjectScope(ids.tenant, ids.project), data={"id": "a", "name": "A"}
    )
    inserted, updated, deleted = Recorder(), Recorder(), Recorder()
    sub_agent_hooks.before_insert.append(inserted)
    sub_agent_hooks.before_update.append(updated)
    sub_agent_hooks.before_delete.append(deleted)
    a = AgentScope(ids.tenant, ids.project, "a")
    await create_sub_agent(databases.manage)(scopes=a, data={"id": "s", "name": "S"})
    await update_sub_agent(databases.manage)(scopes=a, sub_agent_id="s", data={"name": "T"})
    await delete_sub_agent(databases.manage)(scopes=a, sub_agent_id="s")
    assert inserted.ids() == [["s"]]
    row = inserted.calls[0][0]
    assert (row["tenant_id"], row["project_id"], row["agent_id"], row["name"]) == (
        ids.tenant,
        ids.project,
        "a",
        "S",
    )
    assert updated.ids() == [["s"]]
    assert updated.calls[0][0]["name"] == "T"
    assert deleted.calls == [
        [
            {
                "tenant_id": ids.tenant,
                "project_id": ids.project,
                "branch": "main",
                "agent_id": "a",
                "id": "s",
            }
        ]
    ]


async def test_hooks_run_for_document_imports(
    databases: TestDatabases, ids: Ids, sub_agent_hooks: Hooks
) -> None:
    scope = ProjectScope(ids.tenant, ids.project)
    put = put_full_project(databases.manage, databases.runtime)
    inserted, updated, deleted = Recorder(), Recorder(), Recorder()
    sub_agent_hooks.before_insert.append(inserted)
    sub_agent_hooks.before_update.append(updated)
    sub_agent_hooks.before_delete.append(deleted)

    await put(scopes=scope, document=_two_agents(ids.project))
    # One batch per statement, every new row in it.
    assert sorted(sorted(batch) for batch in inserted.ids()) == [["b1", "s1", "s2"]]
    assert updated.calls == []
    assert deleted.calls == []

    smaller = _two_agents(ids.project)
    del smaller["agents"]["b"]  # its sub-agent goes with it: deleted through the entity
    del smaller["agents"]["a"]["sub_agents"]["s2"]
    smaller["agents"]["a"]["sub_agents"]["s1"]["name"] = "Renamed"
    inserted.calls.clear()
    await put(scopes=scope, document=smaller)
    assert inserted.calls == []
    assert updated.ids() == [["s1"]]  # only the changed row is written
    assert updated.calls[0][0]["name"] == "Renamed"
    key = {"tenant_id": ids.tenant, "project_id": ids.project, "branch": "main"}
    assert len(deleted.calls) == 1
    assert sorted(deleted.calls[0], key=lambda k: (k["agent_id"], k["id"])) == [
        {**key, "agent_id": "a", "id": "s2"},
        {**key, "agent_id": "b", "id": "b1"},
    ]

    # An agent document runs them too.
    updated.calls.clear()
    deleted.calls.clear()
    a = AgentScope(ids.tenant, ids.project, "a")
    await put_full_agent(databases.manage, databases.runtime)(
        scopes=a, document={"name": "A", "sub_agents": {"s3": {"name": "S3"}}}
    )
    assert inserted.ids() == [["s3"]]
    assert deleted.calls == [[{**key, "agent_id": "a", "id": "s1"}]]


async def test_a_failing_delete_rule_stops_a_document_import(
    databases: TestDatabases, ids: Ids, sub_agent_hooks: Hooks
) -> None:
    scope = ProjectScope(ids.tenant, ids.project)
    put = put_full_project(databases.manage, databases.runtime)
    await put(scopes=scope, document=_two_agents(ids.project))
    before = await get_full_project(databases.manage)(scopes=scope)

    async def keep_s2(access: Access, keys: Sequence[Mapping[str, Any]]) -> None:
        if any(k["id"] == "s2" for k in keys):
            raise ValidationFailed(
                "s2 is protected", errors=[{"field": "id", "message": "kept", "type": "rule"}]
            )

    sub_agent_hooks.before_delete.append(keep_s2)
    smaller = _two_agents(ids.project)
    del smaller["agents"]["a"]["sub_agents"]["s2"]
    smaller["name"] = "Renamed"
    with pytest.raises(ValidationFailed, match="protected"):
        await put(scopes=scope, document=smaller)
    assert await get_full_project(databases.manage)(scopes=scope) == before


@pytest.mark.parametrize(
    "hook_list",
    [
        pytest.param("before_insert"),
        pytest.param("before_update"),
    ],
)
async def test_insert_and_update_rules_run_for_document_imports(
    databases: TestDatabases, ids: Ids, sub_agent_hooks: Hooks, hook_list: str
) -> None:
    scope = ProjectScope(ids.tenant, ids.project)
    put = put_full_project(databases.manage, databases.runtime)
    await put(scopes=scope, document=_two_agents(ids.project))
    recorder = Recorder()
    getattr(sub_agent_hooks, hook_list).append(recorder)
    document = _two_agents(ids.project)
    document["agents"]["a"]["sub_agents"]["s1"]["name"] = "Renamed"  # an update
    document["agents"]["a"]["sub_agents"]["s3"] = {"name": "S3"}  # an insert
    await put(scopes=scope, document=document)
    expected = "s3" if hook_list == "before_insert" else "s1"
    assert [r["id"] for batch in recorder.calls for r in batch] == [expected]
