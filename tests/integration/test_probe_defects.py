"""Regression tests for the defects an acceptance probe found, on both backends.

Each test names the behaviour it holds the code to; the concurrency tests construct
their interleaving deterministically (events, not timing) and explain in their
docstring why it is the interleaving that matters.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pytest
from _pytest.mark import ParameterSet
from sqlalchemy.exc import DBAPIError

import agentfold_core.data_access.documents.write as write
from agentfold_core.data_access.documents import (
    PutResult,
    get_full_agent,
    get_full_project,
    put_full_agent,
    put_full_project,
)
from agentfold_core.data_access.doors import Access, Unit
from agentfold_core.data_access.manage.agents import (
    create_agent,
    create_sub_agent,
    get_agent,
    list_agents,
)
from agentfold_core.data_access.manage.projects import PROJECTS
from agentfold_core.data_access.orphans import find_orphans
from agentfold_core.data_access.project_lifecycle import (
    create_project,
    delete_project,
    project_exists,
)
from agentfold_core.data_access.registry import REGISTRY, Registered
from agentfold_core.data_access.runtime.api_keys import (
    get_api_key,
    issue_api_key,
    revoke_api_key,
)
from agentfold_core.data_access.runtime.conversations import (
    create_conversation,
    create_message,
    get_conversation,
    get_message,
    list_conversations,
)
from agentfold_core.data_access.runtime.project_metadata import PROJECT_METADATA
from agentfold_core.data_access.runtime.tasks import create_task, get_task
from agentfold_core.data_access.runtime.tenants import TENANTS
from agentfold_core.data_access.runtime.trigger_invocations import (
    create_trigger_invocation,
    get_trigger_invocation,
)
from agentfold_core.errors import (
    AgentfoldError,
    Conflict,
    InvalidReference,
    NotFound,
    ValidationFailed,
)
from agentfold_core.pagination import MAX_LIMIT, MAX_PAGE
from agentfold_core.scopes import AgentScope, ProjectScope, TenantScope
from agentfold_core.versioning.branches import create_branch
from tests.conftest import Ids
from tests.support.databases import TestDatabases
from tests.support.graph import Context, count, scope_for, snapshot
from tests.support.samples import MCP_CONFIG


class InjectedFailure(Exception):
    """Raised on purpose inside one call of a race."""


# Which concurrent call a patched step runs in ("A" fails, "B" is the competitor).
_ROLE: contextvars.ContextVar[str] = contextvars.ContextVar("probe_role", default="")
_RACE_TIMEOUT = 30.0


def _document(project_id: str, *, name: str = "Support") -> dict[str, Any]:
    """A small project: a tool, two agents (one with a trigger), three sub-agents."""
    return {
        "id": project_id,
        "name": name,
        "tools": {"zendesk": {"name": "Zendesk", "config": MCP_CONFIG}},
        "agents": {
            "triage": {
                "name": "Triage",
                "default_sub_agent_id": "router",
                "sub_agents": {
                    "router": {"name": "Router", "tools": [{"tool_id": "zendesk"}]},
                    "billing": {"name": "Billing"},
                },
                "triggers": {"ticket": {"name": "Ticket"}},
            },
            "helper": {
                "name": "Helper",
                "sub_agents": {"h1": {"name": "H1"}},
                "triggers": {"ping": {"name": "Ping"}},
            },
        },
    }


def _other_document(project_id: str) -> dict[str, Any]:
    """A different project content, to tell whose put won."""
    return {
        "id": project_id,
        "name": "Sales",
        "agents": {"closer": {"name": "Closer", "sub_agents": {"c1": {"name": "C1"}}}},
    }


async def _reference_export(
    databases: TestDatabases, tenant: str, document: dict[str, Any]
) -> dict[str, Any]:
    """What ``document`` reads back as, put into a project of its own (another tenant)."""
    scope = ProjectScope(tenant, document["id"])
    await put_full_project(databases.manage, databases.runtime)(scopes=scope, document=document)
    exported = await get_full_project(databases.manage)(scopes=scope)
    assert exported is not None
    return exported


async def _as(role: str, call: Callable[[], Awaitable[PutResult]]) -> PutResult:
    _ROLE.set(role)  # a task runs in a copy of the context: this stays in the task
    return await call()


# ---------------------------------------------------------------------- 1. races


async def test_a_put_that_fails_after_a_concurrent_creation_keeps_that_project(
    databases: TestDatabases, ids: Ids, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Call A finds no project, then call B creates it and commits; A, finding the
    project on its creation step (``ProjectAlreadyExists``), replaces it like any
    existing project, and that write fails. A's failure must not remove B's project.

    Constructed with events: A's existence check returns (False) and A waits; B runs to
    completion; A resumes and fails inside its tree write.
    """
    scope = ProjectScope(ids.tenant, ids.project)
    put = put_full_project(databases.manage, databases.runtime)
    checked, release = asyncio.Event(), asyncio.Event()
    a_writes = 0
    real_exists = project_exists  # what write.py imported
    real_write = write._write_difference

    def exists(runtime: Any) -> Callable[..., Awaitable[bool]]:
        check = real_exists(runtime)

        async def _check(*, scopes: ProjectScope) -> bool:
            found = await check(scopes=scopes)
            if _ROLE.get() == "A":
                checked.set()
                await release.wait()
            return found

        return _check

    async def write_difference(*args: Any, **kwargs: Any) -> PutResult:
        nonlocal a_writes
        if _ROLE.get() == "A":
            a_writes += 1
            raise InjectedFailure("A's tree write failed")
        return await real_write(*args, **kwargs)

    monkeypatch.setattr(write, "project_exists", exists)
    monkeypatch.setattr(write, "_write_difference", write_difference)

    a = asyncio.create_task(_as("A", lambda: put(scopes=scope, document=_document(ids.project))))
    await asyncio.wait_for(checked.wait(), _RACE_TIMEOUT)
    created = await asyncio.wait_for(
        _as("B", lambda: put(scopes=scope, document=_other_document(ids.project))), _RACE_TIMEOUT
    )
    assert created.created["agents"] == 1
    release.set()
    with pytest.raises(InjectedFailure):
        await asyncio.wait_for(a, _RACE_TIMEOUT)
    monkeypatch.undo()

    assert a_writes == 1  # A reached the replace path and failed there
    assert await project_exists(databases.runtime)(scopes=scope)
    expected = await _reference_export(databases, ids.other_tenant, _other_document(ids.project))
    assert await get_full_project(databases.manage)(scopes=scope) == expected
    assert await find_orphans(databases.manage, databases.runtime, tenant_id=ids.tenant) == []


async def test_a_creation_waits_for_a_concurrent_one_that_then_fails(
    databases: TestDatabases, ids: Ids, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race of the probe (A's tree write fails *after* B succeeded) cannot happen:
    A holds its uncommitted runtime ``project_metadata`` insert (PostgreSQL: B's insert
    of the same key, and of the new tenant, waits on it; SQLite: B's ``BEGIN IMMEDIATE``
    waits on the busy timeout) for as long as its manage transaction runs.

    So: A blocks inside its tree write; B starts and must not finish; A fails; then B
    creates the project with its own content, and A's rollback removed nothing of B.
    """
    scope = ProjectScope(ids.tenant, ids.project)
    put = put_full_project(databases.manage, databases.runtime)
    writing_tree, release = asyncio.Event(), asyncio.Event()
    real_write = write._write_difference

    async def write_difference(*args: Any, **kwargs: Any) -> PutResult:
        if _ROLE.get() == "A":
            writing_tree.set()
            await release.wait()
            raise InjectedFailure("A's tree write failed")
        return await real_write(*args, **kwargs)

    monkeypatch.setattr(write, "_write_difference", write_difference)
    a = asyncio.create_task(_as("A", lambda: put(scopes=scope, document=_document(ids.project))))
    await asyncio.wait_for(writing_tree.wait(), _RACE_TIMEOUT)
    b = asyncio.create_task(
        _as("B", lambda: put(scopes=scope, document=_other_document(ids.project)))
    )
    # Well inside SQLite's 5 s busy timeout: B is waiting on A's creation.
    await asyncio.sleep(0.5)
    assert not b.done(), "B created the project while A's creation was still open"
    release.set()
    with pytest.raises(InjectedFailure):
        await asyncio.wait_for(a, _RACE_TIMEOUT)
    created = await asyncio.wait_for(b, _RACE_TIMEOUT)
    monkeypatch.undo()

    assert created.created["agents"] == 1
    assert await project_exists(databases.runtime)(scopes=scope)
    expected = await _reference_export(databases, ids.other_tenant, _other_document(ids.project))
    assert await get_full_project(databases.manage)(scopes=scope) == expected
    assert await find_orphans(databases.manage, databases.runtime, tenant_id=ids.tenant) == []


async def test_compensation_of_a_failed_creation_spares_a_concurrent_one(
    databases: TestDatabases, ids: Ids, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one window where a failed creation deletes rows: A's manage transaction
    committed, its final runtime commit fails, and A deletes its manage rows again.
    B waits on A's runtime row; once A's runtime transaction rolled back B inserts its
    own runtime row, and (forced here) lets A's compensation finish before it writes
    its manage rows. The compensation must not have removed anything B then creates.
    """
    scope = ProjectScope(ids.tenant, ids.project)
    put = put_full_project(databases.manage, databases.runtime)
    finishing, release = asyncio.Event(), asyncio.Event()
    finish = Unit.finish
    insert_if_absent = PROJECT_METADATA.insert_if_absent
    tasks: dict[str, asyncio.Task[PutResult]] = {}

    async def failing_finish(self: Unit, *, last: bool = False) -> None:
        if self.database is databases.runtime and _ROLE.get() == "A":
            finishing.set()
            await release.wait()
            raise InjectedFailure("A's runtime commit failed")
        await finish(self, last=last)

    seen_by_b: list[object] = []

    async def insert_then_wait(access: Access, values: Mapping[str, Any]) -> bool:
        inserted = await insert_if_absent(access, values)
        if _ROLE.get() == "B":
            await asyncio.wait([tasks["A"]])  # A's compensation runs to its end first
            seen_by_b.append(await get_full_project(databases.manage)(scopes=scope))
        return inserted

    monkeypatch.setattr(Unit, "finish", failing_finish)
    monkeypatch.setattr(PROJECT_METADATA, "insert_if_absent", insert_then_wait)
    tasks["A"] = asyncio.create_task(
        _as("A", lambda: put(scopes=scope, document=_document(ids.project)))
    )
    await asyncio.wait_for(finishing.wait(), _RACE_TIMEOUT)
    # A's manage rows are committed now.
    assert await get_full_project(databases.manage)(scopes=scope) is not None
    tasks["B"] = asyncio.create_task(
        _as("B", lambda: put(scopes=scope, document=_other_document(ids.project)))
    )
    await asyncio.sleep(0.5)
    assert not tasks["B"].done()
    release.set()
    with pytest.raises(InjectedFailure):
        await asyncio.wait_for(tasks["A"], _RACE_TIMEOUT)
    created = await asyncio.wait_for(tasks["B"], _RACE_TIMEOUT)
    monkeypatch.undo()

    assert seen_by_b == [None]  # A's compensation removed A's manage rows, then B wrote
    assert created.created["agents"] == 1
    assert await project_exists(databases.runtime)(scopes=scope)
    expected = await _reference_export(databases, ids.other_tenant, _other_document(ids.project))
    assert await get_full_project(databases.manage)(scopes=scope) == expected
    assert await find_orphans(databases.manage, databases.runtime, tenant_id=ids.tenant) == []


# ---------------------------------------------------------------------- 2. tenant race


async def test_concurrent_creations_in_a_new_tenant_all_succeed(
    databases: TestDatabases, ids: Ids
) -> None:
    create = create_project(databases.manage, databases.runtime)
    tenant = TenantScope(ids.tenant)
    projects = [f"{ids.project}-{i:02d}" for i in range(20)]
    rows = await asyncio.wait_for(
        asyncio.gather(*(create(scopes=tenant, data={"id": p, "name": p}) for p in projects)),
        60,
    )
    assert sorted(r.id for r in rows) == projects
    assert await count(databases.runtime, TENANTS, id=ids.tenant) == 1
    assert await count(databases.runtime, PROJECT_METADATA, tenant_id=ids.tenant) == 20
    assert await count(databases.manage, PROJECTS, tenant_id=ids.tenant) == 20
    for project in projects:
        assert await project_exists(databases.runtime)(scopes=ProjectScope(ids.tenant, project))


# ---------------------------------------------------------------------- 3. page bounds


def _listed() -> list[ParameterSet]:
    return [pytest.param(e, id=e.table) for e in REGISTRY if "list" in e.operations]


@pytest.mark.parametrize("entry", _listed())
async def test_out_of_range_pages_and_limits_are_validation_errors(
    databases: TestDatabases, ids: Ids, entry: Registered
) -> None:
    db = databases.manage if entry.database == "manage" else databases.runtime
    scope = scope_for(entry.entity, Context(ids.tenant, ids.project))
    list_rows = entry.function("list")(db)
    for page, limit, field in [
        (2**62, 10, "page"),
        (2**63, 10, "page"),
        (MAX_PAGE + 1, 10, "page"),
        (0, 10, "page"),
        (1, 0, "limit"),
        (1, MAX_LIMIT + 1, "limit"),
        (1, 2**62, "limit"),
    ]:
        with pytest.raises(ValidationFailed) as caught:
            await list_rows(scopes=scope, page=page, limit=limit)
        assert not isinstance(caught.value.__context__, DBAPIError)
        assert [e["field"] for e in caught.value.errors] == [field], (page, limit)
        assert all(e["type"] and e["message"] for e in caught.value.errors)
    # The bounds themselves are accepted: an empty last page, no driver error.
    at_bound = await list_rows(scopes=scope, page=MAX_PAGE, limit=MAX_LIMIT)
    assert at_bound.data == []
    assert (at_bound.pagination.page, at_bound.pagination.limit) == (MAX_PAGE, MAX_LIMIT)


# ---------------------------------------------------------------------- 4. null filters


async def _agents_with_and_without(databases: TestDatabases, ids: Ids) -> ProjectScope:
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    scope = ProjectScope(ids.tenant, ids.project)
    create = create_agent(databases.manage)
    for agent_id in ("bare-1", "bare-2", "bare-3"):
        await create(scopes=scope, data={"id": agent_id, "name": agent_id})
    for agent_id in ("full-1", "full-2"):
        await create(
            scopes=scope,
            data={
                "id": agent_id,
                "name": agent_id,
                "description": "described",
                "models": {"base": {"model": "gpt-4.1"}},
            },
        )
    return scope


async def test_a_null_filter_matches_the_rows_whose_column_is_null(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await _agents_with_and_without(databases, ids)
    list_rows = list_agents(databases.manage)
    bare = await list_rows(scopes=scope, where={"description": None}, limit=100)
    assert [a.id for a in bare.data] == ["bare-3", "bare-2", "bare-1"]
    assert bare.pagination.total == 3
    described = await list_rows(scopes=scope, where={"description": "described"}, limit=100)
    assert [a.id for a in described.data] == ["full-2", "full-1"]
    # Null and non-null filters combine; the total of a page past the end counts too.
    both = await list_rows(scopes=scope, where={"description": None, "name": "bare-2"})
    assert [a.id for a in both.data] == ["bare-2"]
    past = await list_rows(scopes=scope, where={"description": None}, page=4, limit=1)
    assert (past.data, past.pagination.total, past.pagination.pages) == ([], 3, 3)

    # A runtime table: conversations with no active sub-agent.
    conversations = create_conversation(databases.runtime)
    await conversations(scopes=scope, data={"id": "idle", "agent_id": "bare-1"})
    await conversations(
        scopes=scope, data={"id": "busy", "agent_id": "bare-1", "active_sub_agent_id": "s"}
    )
    idle = await list_conversations(databases.runtime)(
        scopes=scope, where={"active_sub_agent_id": None}
    )
    assert [c.id for c in idle.data] == ["idle"]
    busy = await list_conversations(databases.runtime)(
        scopes=scope, where={"active_sub_agent_id": "s"}
    )
    assert [c.id for c in busy.data] == ["busy"]


async def test_a_null_filter_on_a_json_column_matches_the_rows_without_a_value(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await _agents_with_and_without(databases, ids)
    bare = await list_agents(databases.manage)(scopes=scope, where={"models": None}, limit=100)
    assert [a.id for a in bare.data] == ["bare-3", "bare-2", "bare-1"]


async def test_a_json_column_is_filtered_for_null_only(databases: TestDatabases, ids: Ids) -> None:
    """Equality of JSON documents is not portable (SQLite compares text, so the key
    order would decide a match): a value filter on a JSON column is refused alike on
    both backends, naming the field."""
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    scope = ProjectScope(ids.tenant, ids.project)
    await create_conversation(databases.runtime)(
        scopes=scope, data={"id": "c", "agent_id": "a", "properties": {"a": 1, "b": 2}}
    )
    await create_conversation(databases.runtime)(scopes=scope, data={"id": "d", "agent_id": "a"})
    list_rows = list_conversations(databases.runtime)
    with pytest.raises(ValidationFailed) as caught:
        await list_rows(scopes=scope, where={"properties": {"a": 1, "b": 2}})
    assert [(e["field"], e["type"]) for e in caught.value.errors] == [
        ("properties", "not_filterable")
    ]
    bare = await list_rows(scopes=scope, where={"properties": None})
    assert [c.id for c in bare.data] == ["d"]


# ---------------------------------------------------------------------- 5. empty collections


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        pytest.param(
            lambda d: d.update(tools={}),
            "agents.triage.sub_agents.router.tools[0].tool_id",
            id="empty-tools",
        ),
        pytest.param(
            lambda d: d.pop("tools"),
            "agents.triage.sub_agents.router.tools[0].tool_id",
            id="no-tools-key",
        ),
        pytest.param(
            lambda d: d["agents"]["triage"].update(sub_agents={}),
            "agents.triage.default_sub_agent_id",
            id="empty-sub-agents",
        ),
        pytest.param(
            lambda d: d["agents"]["triage"].update(context_config_id="ctx", context_configs={}),
            "agents.triage.context_config_id",
            id="empty-context-configs",
        ),
        pytest.param(
            lambda d: d["agents"]["triage"]["sub_agents"].update(
                billing={"name": "B", "team_agents": [{"target_agent_id": "ghost"}]}
            ),
            "agents.triage.sub_agents.billing.team_agents[0].target_agent_id",
            id="team-agent-not-in-agents",
        ),
    ],
)
async def test_a_link_into_an_empty_collection_names_its_path(
    databases: TestDatabases, ids: Ids, mutate: Callable[[dict[str, Any]], Any], field: str
) -> None:
    scope = ProjectScope(ids.tenant, ids.project)
    put = put_full_project(databases.manage, databases.runtime)
    broken = _document(ids.project)
    mutate(broken)
    # A new project: nothing is written.
    with pytest.raises(ValidationFailed) as caught:
        await put(scopes=scope, document=broken)
    assert [(e["field"], e["type"]) for e in caught.value.errors] == [(field, "dangling_reference")]
    assert all(e["message"] for e in caught.value.errors)
    assert not await project_exists(databases.runtime)(scopes=scope)
    assert await snapshot(databases, [ids.tenant]) == set()
    # An existing project: nothing changes.
    await put(scopes=scope, document=_document(ids.project))
    before = await get_full_project(databases.manage)(scopes=scope)
    with pytest.raises(ValidationFailed) as again:
        await put(scopes=scope, document=broken)
    assert [e["field"] for e in again.value.errors] == [field]
    assert await get_full_project(databases.manage)(scopes=scope) == before


async def test_an_agent_document_with_no_sub_agents_cannot_name_one(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = ProjectScope(ids.tenant, ids.project)
    await put_full_project(databases.manage, databases.runtime)(
        scopes=scope, document=_document(ids.project)
    )
    agent = AgentScope(ids.tenant, ids.project, "triage")
    before = await get_full_agent(databases.manage)(scopes=agent)
    broken = {
        "name": "Triage",
        "default_sub_agent_id": "router",
        "sub_agents": {},
        "sub_agent_relations": [
            {
                "source_sub_agent_id": "router",
                "target_sub_agent_id": "billing",
                "relation_type": "transfer",
            }
        ],
    }
    with pytest.raises(ValidationFailed) as caught:
        await put_full_agent(databases.manage, databases.runtime)(scopes=agent, document=broken)
    assert sorted(e["field"] for e in caught.value.errors) == [
        "default_sub_agent_id",
        "sub_agent_relations[0].source_sub_agent_id",
        "sub_agent_relations[0].target_sub_agent_id",
    ]
    assert await get_full_agent(databases.manage)(scopes=agent) == before


# ---------------------------------------------------------------------- 6. runtime cascade


async def test_a_put_removing_agents_and_sub_agents_removes_their_runtime_rows(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = ProjectScope(ids.tenant, ids.project)
    tenant = TenantScope(ids.tenant)
    manage, runtime = databases.manage, databases.runtime
    put = put_full_project(manage, runtime)
    await put(scopes=scope, document=_document(ids.project))

    main = {"branch": "main"}
    conversation = create_conversation(runtime)
    task = create_task(runtime)
    await conversation(scopes=scope, data={"id": "c-helper", "agent_id": "helper", "ref": main})
    await create_message(runtime)(
        scopes=scope,
        data={"id": "m-helper", "conversation_id": "c-helper", "role": "user", "content": {}},
    )
    await conversation(
        scopes=scope,
        data={"id": "c-router", "agent_id": "triage", "active_sub_agent_id": "router"},
    )
    await conversation(
        scopes=scope,
        data={"id": "c-billing", "agent_id": "triage", "active_sub_agent_id": "billing"},
    )
    await task(scopes=scope, data={"id": "t-helper", "agent_id": "helper", "sub_agent_id": "h1"})
    await task(
        scopes=scope, data={"id": "t-billing", "agent_id": "triage", "sub_agent_id": "billing"}
    )
    await task(
        scopes=scope, data={"id": "t-router", "agent_id": "triage", "sub_agent_id": "router"}
    )
    helper_key = await issue_api_key(runtime)(
        scopes=tenant, data={"role": "runner", "project_id": ids.project, "agent_id": "helper"}
    )
    triage_key = await issue_api_key(runtime)(
        scopes=tenant, data={"role": "runner", "project_id": ids.project, "agent_id": "triage"}
    )
    project_key = await issue_api_key(runtime)(
        scopes=tenant, data={"role": "runner", "project_id": ids.project}
    )
    helper_scope = AgentScope(ids.tenant, ids.project, "helper")
    triage_scope = AgentScope(ids.tenant, ids.project, "triage")
    await create_trigger_invocation(runtime)(
        scopes=helper_scope, data={"id": "i-helper", "trigger_id": "ping", "ref": main}
    )
    await create_trigger_invocation(runtime)(
        scopes=triage_scope, data={"id": "i-triage", "trigger_id": "ticket", "ref": main}
    )
    assert await find_orphans(manage, runtime, tenant_id=ids.tenant) == []

    async def kept() -> list[Any]:
        return [
            await get_conversation(runtime)(scopes=scope, conversation_id="c-router"),
            await get_task(runtime)(scopes=scope, task_id="t-router"),
            await get_api_key(runtime)(scopes=tenant, api_key_id=triage_key.row.id),
            await get_api_key(runtime)(scopes=tenant, api_key_id=project_key.row.id),
            await get_trigger_invocation(runtime)(
                scopes=triage_scope, trigger_invocation_id="i-triage"
            ),
        ]

    before = await kept()
    billing_before = await get_conversation(runtime)(scopes=scope, conversation_id="c-billing")
    assert None not in before
    assert billing_before is not None

    smaller = _document(ids.project)
    del smaller["agents"]["helper"]
    del smaller["agents"]["triage"]["sub_agents"]["billing"]
    result = await put(scopes=scope, document=smaller)
    assert result.removed_agents == ("helper",)
    assert result.removed_sub_agents == (("triage", "billing"),)

    assert await find_orphans(manage, runtime, tenant_id=ids.tenant) == []
    assert await kept() == before
    assert await get_conversation(runtime)(scopes=scope, conversation_id="c-helper") is None
    assert await get_message(runtime)(scopes=scope, message_id="m-helper") is None
    assert await get_task(runtime)(scopes=scope, task_id="t-helper") is None
    assert await get_task(runtime)(scopes=scope, task_id="t-billing") is None
    assert await get_api_key(runtime)(scopes=tenant, api_key_id=helper_key.row.id) is None
    assert (
        await get_trigger_invocation(runtime)(scopes=helper_scope, trigger_invocation_id="i-helper")
        is None
    )
    # A conversation of a kept agent whose active sub-agent went is detached, not deleted.
    billing_after = await get_conversation(runtime)(scopes=scope, conversation_id="c-billing")
    assert billing_after is not None
    assert billing_after.active_sub_agent_id is None
    assert billing_after.model_dump(exclude={"active_sub_agent_id"}) == billing_before.model_dump(
        exclude={"active_sub_agent_id"}
    )


async def test_an_agent_put_removing_a_sub_agent_removes_its_tasks(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = ProjectScope(ids.tenant, ids.project)
    manage, runtime = databases.manage, databases.runtime
    await put_full_project(manage, runtime)(scopes=scope, document=_document(ids.project))
    for task_id, sub_agent in (("t-billing", "billing"), ("t-router", "router")):
        await create_task(runtime)(
            scopes=scope, data={"id": task_id, "agent_id": "triage", "sub_agent_id": sub_agent}
        )
    agent = AgentScope(ids.tenant, ids.project, "triage")
    document = await get_full_agent(manage)(scopes=agent)
    assert document is not None
    del document["sub_agents"]["billing"]
    result = await put_full_agent(manage, runtime)(scopes=agent, document=document)
    assert result.removed_sub_agents == (("triage", "billing"),)
    assert await get_task(runtime)(scopes=scope, task_id="t-billing") is None
    assert await get_task(runtime)(scopes=scope, task_id="t-router") is not None
    assert await find_orphans(manage, runtime, tenant_id=ids.tenant) == []


async def test_a_put_removing_a_trigger_leaves_no_orphan_invocation(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = ProjectScope(ids.tenant, ids.project)
    manage, runtime = databases.manage, databases.runtime
    put = put_full_project(manage, runtime)
    await put(scopes=scope, document=_document(ids.project))
    await create_trigger_invocation(runtime)(
        scopes=AgentScope(ids.tenant, ids.project, "triage"),
        data={"id": "i-ticket", "trigger_id": "ticket", "ref": {"branch": "main"}},
    )
    smaller = _document(ids.project)
    smaller["agents"]["triage"]["triggers"] = {}
    await put(scopes=scope, document=smaller)
    assert await find_orphans(manage, runtime, tenant_id=ids.tenant) == []


async def test_a_put_on_a_branch_spares_the_runtime_rows_of_other_branches(
    databases: TestDatabases, ids: Ids
) -> None:
    """Removing an agent on branch ``feature`` removes the runtime rows that ran
    against it on ``feature``; rows of ``main`` (where the agent still exists) and API
    keys (which work on the main branch) stay, and nothing is orphaned."""
    main = ProjectScope(ids.tenant, ids.project)
    feature = ProjectScope(ids.tenant, ids.project, ref="feature")
    tenant = TenantScope(ids.tenant)
    manage, runtime = databases.manage, databases.runtime
    put = put_full_project(manage, runtime)
    await put(scopes=main, document=_document(ids.project))
    await create_branch(manage)(scopes=main, name="feature")
    conversation = create_conversation(runtime)
    await conversation(
        scopes=main, data={"id": "c-main", "agent_id": "helper", "ref": {"branch": "main"}}
    )
    await conversation(
        scopes=main, data={"id": "c-feature", "agent_id": "helper", "ref": {"branch": "feature"}}
    )
    key = await issue_api_key(runtime)(
        scopes=tenant, data={"role": "runner", "project_id": ids.project, "agent_id": "helper"}
    )
    smaller = _document(ids.project)
    del smaller["agents"]["helper"]
    await put(scopes=feature, document=smaller)

    conversations = get_conversation(runtime)
    state = {
        "feature conversation deleted": await conversations(
            scopes=main, conversation_id="c-feature"
        )
        is None,
        "main conversation kept": await conversations(scopes=main, conversation_id="c-main")
        is not None,
        "API key kept": await get_api_key(runtime)(scopes=tenant, api_key_id=key.row.id)
        is not None,
    }
    assert state == dict.fromkeys(state, True)
    assert await find_orphans(manage, runtime, tenant_id=ids.tenant) == []


# ---------------------------------------------------------------------- 7. error shapes


async def _setup_errors(databases: TestDatabases, ids: Ids) -> ProjectScope:
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    scope = ProjectScope(ids.tenant, ids.project)
    await create_agent(databases.manage)(scopes=scope, data={"id": "a", "name": "A"})
    return scope


Provoke = Callable[[TestDatabases, Ids, ProjectScope], Awaitable[object]]


def _case(name: str, error: type[AgentfoldError], provoke: Provoke) -> ParameterSet:
    return pytest.param(error, provoke, id=name)


_ERROR_CASES = [
    _case(
        "delete-missing-project",
        NotFound,
        lambda d, i, s: delete_project(d.manage, d.runtime)(
            scopes=ProjectScope(i.tenant, i.project + "-missing")
        ),
    ),
    _case(
        "revoke-missing-key",
        NotFound,
        lambda d, i, s: revoke_api_key(d.runtime)(
            scopes=TenantScope(i.tenant), api_key_id="no-such-key"
        ),
    ),
    _case(
        "create-project-twice",
        Conflict,
        lambda d, i, s: create_project(d.manage, d.runtime)(
            scopes=TenantScope(i.tenant), data={"id": i.project, "name": "Again"}
        ),
    ),
    _case(
        "create-agent-twice",
        Conflict,
        lambda d, i, s: create_agent(d.manage)(scopes=s, data={"id": "a", "name": "Again"}),
    ),
    _case(
        "sub-agent-under-missing-agent",
        InvalidReference,
        lambda d, i, s: create_sub_agent(d.manage)(
            scopes=AgentScope(i.tenant, i.project, "ghost"), data={"id": "s", "name": "S"}
        ),
    ),
    _case(
        "dangling-default-sub-agent",
        InvalidReference,
        lambda d, i, s: create_agent(d.manage)(
            scopes=s, data={"id": "b", "name": "B", "default_sub_agent_id": "nobody"}
        ),
    ),
    _case(
        "bad-id",
        ValidationFailed,
        lambda d, i, s: create_agent(d.manage)(scopes=s, data={"id": "bad id!", "name": "B"}),
    ),
    _case(
        "bad-id-keyword",
        ValidationFailed,
        lambda d, i, s: get_agent(d.manage)(scopes=s, agent_id="bad id!"),
    ),
    _case(
        "bad-page",
        ValidationFailed,
        lambda d, i, s: list_agents(d.manage)(scopes=s, page=2**62),
    ),
    _case(
        "bad-create-input",
        ValidationFailed,
        lambda d, i, s: create_agent(d.manage)(
            scopes=s, data={"id": "c", "name": "", "surprise": 1, "execution_mode": "turbo"}
        ),
    ),
    _case(
        "dangling-document-link",
        ValidationFailed,
        lambda d, i, s: put_full_project(d.manage, d.runtime)(
            scopes=s, document={**_document(i.project), "tools": {}}
        ),
    ),
    _case(
        "role-binding",
        ValidationFailed,
        lambda d, i, s: issue_api_key(d.runtime)(
            scopes=TenantScope(i.tenant), data={"role": "admin", "project_id": i.project}
        ),
    ),
]


@pytest.mark.parametrize(("error", "provoke"), _ERROR_CASES)
async def test_domain_errors_have_the_documented_shape(
    databases: TestDatabases, ids: Ids, error: type[AgentfoldError], provoke: Provoke
) -> None:
    scope = await _setup_errors(databases, ids)
    with pytest.raises(AgentfoldError) as caught:
        await provoke(databases, ids, scope)
    raised = caught.value
    assert isinstance(raised, error), type(raised)
    assert isinstance(raised.message, str)
    assert raised.message
    assert isinstance(raised.code, str)
    assert raised.code
    if "key" in raised.context:
        assert isinstance(raised.context["key"], Mapping), raised.context
    if isinstance(raised, ValidationFailed):
        assert raised.errors
        for entry in raised.errors:
            assert set(entry) == {"field", "message", "type"}, entry
            assert all(isinstance(value, str) for value in entry.values()), entry
            assert entry["message"]
            assert entry["type"]
