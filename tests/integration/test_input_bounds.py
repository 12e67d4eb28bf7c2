"""Values every backend stores alike, or neither: NUL characters, JSON too deep or too
large, non-finite numbers are refused at validation (``ValidationFailed`` naming the
field), never by the driver; values within the bounds round-trip on both backends."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import AfterValidator
from sqlalchemy import String

from agentfold_core.data_access.documents import get_full_project, put_full_project
from agentfold_core.data_access.doors import writing
from agentfold_core.data_access.manage.agents import AGENTS, create_agent, get_agent, update_agent
from agentfold_core.data_access.manage.tools import create_tool, get_tool, list_tools
from agentfold_core.data_access.runtime.conversations import (
    create_message,
    list_messages,
    update_conversation,
)
from agentfold_core.data_access.scope_keys import resolve
from agentfold_core.db.fields import NO_NUL
from agentfold_core.db.limits import (
    JSON_INVALID_NUMBER,
    JSON_MAX_BYTES,
    JSON_MAX_DEPTH,
    JSON_TOO_DEEP,
    JSON_TOO_LARGE,
    NUL_CHARACTER,
)
from agentfold_core.errors import ValidationFailed
from agentfold_core.scopes import ProjectScope
from tests.conftest import Ids
from tests.support.databases import TestDatabases
from tests.support.entities import AnyEntity, all_entities, functions
from tests.support.graph import Context, Graph, count, sample_for
from tests.support.project_document import realistic_project
from tests.support.samples import CONVERSATION, MCP_CONFIG

FIELD_TYPES = {NUL_CHARACTER, "literal_error", "value_error"}


def nested(depth: int) -> Any:
    """``depth`` containers, dicts and lists alternating."""
    value: Any = "leaf"
    for level in range(depth):
        value = {"a": value} if level % 2 else [value]
    return value


def fields_and_types(info: pytest.ExceptionInfo[ValidationFailed]) -> list[tuple[str, str]]:
    for entry in info.value.errors:
        assert set(entry) == {"field", "message", "type"}
        assert entry["message"]
    return [(e["field"], e["type"]) for e in info.value.errors]


def with_provider_options(options: Any) -> dict[str, Any]:
    return {"base": {"model": "gpt-4.1", "provider_options": options}}


# ---------------------------------------------------------------------- NUL


def text_columns(entity: AnyEntity) -> set[str]:
    return {c.name for c in entity.table.columns if isinstance(c.type, String)}


def is_free_text(entity: AnyEntity, name: str) -> bool:
    """A plain string field (not an id, a path or an enum): only the NUL rule refuses
    a NUL in it."""
    info = entity.models.api_insert.model_fields[name]
    checks = [m for m in info.metadata if isinstance(m, AfterValidator) and m is not NO_NUL]
    return info.annotation in (str, str | None) and not checks


def rows_of(entity: AnyEntity, ids: Ids) -> dict[str, str]:
    column = "tenant_id" if "tenant_id" in entity.table.c else "id"
    return {column: ids.tenant}


@pytest.mark.parametrize("entity", all_entities(), ids=lambda e: e.traits.name)
async def test_nul_in_any_text_column_is_refused_on_both_backends(
    databases: TestDatabases, ids: Ids, entity: AnyEntity
) -> None:
    graph = Graph(databases)
    ctx = Context(ids.tenant, ids.project)
    scope = await graph.prepare(entity, ctx)
    sample = sample_for(entity)
    payload = ctx.fill(sample.create)
    texts = sorted(
        n for n, v in sample.create.items() if n in text_columns(entity) and isinstance(v, str)
    )
    if not texts:
        pytest.skip("no text column in the sample")
    bad = {**payload, **{n: f"{payload[n]}\x00" for n in texts}}
    before = await count(graph.db(entity), entity, **rows_of(entity, ids))
    with pytest.raises(ValidationFailed) as info:
        await graph.add(entity, scope, bad, sample.secret)
    found = fields_and_types(info)
    assert sorted(f for f, _ in found) == texts
    assert {t for _, t in found} <= FIELD_TYPES
    for name, kind in found:
        if is_free_text(entity, name):
            assert kind == NUL_CHARACTER, name
    assert await count(graph.db(entity), entity, **rows_of(entity, ids)) == before
    # A filter can never match a NUL either: the same error, not a driver error.
    with pytest.raises(ValidationFailed) as info:
        await functions(entity).list(graph.db(entity))(scopes=scope, where={texts[0]: "a\x00"})
    assert [f for f, _ in fields_and_types(info)] == [texts[0]]


async def test_nul_anywhere_in_json_is_refused_and_named(
    databases: TestDatabases, ids: Ids
) -> None:
    graph = Graph(databases)
    ctx = Context(ids.tenant, ids.project)
    await graph.need("project", ctx)
    scope = ctx.project_scope()
    cases = [
        ({"models": with_provider_options({"k": "a\x00"})}, "models.base.provider_options.k"),
        ({"models": with_provider_options({"k\x00": 1})}, "models.base.provider_options"),
        ({"models": {"base": {"model": "gpt\x00"}}}, "models.base.model"),
        ({"status_updates": {"prompt": "\x00"}}, "status_updates.prompt"),
    ]
    for data, field in cases:
        with pytest.raises(ValidationFailed) as info:
            await create_agent(databases.manage)(
                scopes=scope, data={"id": "a", "name": "A", **data}
            )
        assert fields_and_types(info) == [(field, NUL_CHARACTER)]
    assert (await AGENTS.list(databases.manage)(scopes=scope)).pagination.total == 0


# ---------------------------------------------------------------------- depth


async def test_json_too_deep_is_refused_on_create_and_update(
    databases: TestDatabases, ids: Ids
) -> None:
    graph = Graph(databases)
    ctx = Context(ids.tenant, ids.project)
    await graph.need("project", ctx)
    scope = ctx.project_scope()
    deep = with_provider_options({"x": nested(300)})  # deeper than the JSON encoder goes
    with pytest.raises(ValidationFailed) as info:
        await create_agent(databases.manage)(
            scopes=scope, data={"id": "a", "name": "A", "models": deep}
        )
    assert fields_and_types(info) == [("models.base.provider_options", JSON_TOO_DEEP)]
    agent = await create_agent(databases.manage)(scopes=scope, data={"id": "a", "name": "A"})
    with pytest.raises(ValidationFailed) as info:
        await update_agent(databases.manage)(scopes=scope, agent_id="a", data={"models": deep})
    assert fields_and_types(info) == [("models.base.provider_options", JSON_TOO_DEEP)]
    assert await get_agent(databases.manage)(scopes=scope, agent_id="a") == agent


async def test_json_at_the_depth_bound_round_trips(databases: TestDatabases, ids: Ids) -> None:
    graph = Graph(databases)
    ctx = Context(ids.tenant, ids.project)
    await graph.need("project", ctx)
    scope = ctx.project_scope()
    create = create_tool(databases.manage)
    # The column value itself is the first level.
    deepest = {"x": nested(JSON_MAX_DEPTH - 1)}
    tool = await create(
        scopes=scope, data={"id": "t", "name": "T", "config": MCP_CONFIG, "capabilities": deepest}
    )
    assert tool.capabilities == deepest
    assert await get_tool(databases.manage)(scopes=scope, tool_id="t") == tool
    with pytest.raises(ValidationFailed) as info:
        await create(
            scopes=scope,
            data={"id": "u", "name": "U", "config": MCP_CONFIG, "capabilities": {"x": deepest}},
        )
    assert fields_and_types(info) == [("capabilities", JSON_TOO_DEEP)]
    assert [t.id for t in (await list_tools(databases.manage)(scopes=scope)).data] == ["t"]


async def test_message_parts_are_bounded(databases: TestDatabases, ids: Ids) -> None:
    graph = Graph(databases)
    ctx = Context(ids.tenant, ids.project)
    await graph.need("conversation", ctx)
    scope = ctx.project_scope()
    create = create_message(databases.runtime)
    base = {"id": "m", "conversation_id": CONVERSATION, "role": "user"}
    cases = [
        ([{"kind": "data", "data": {"deep": nested(JSON_MAX_DEPTH)}}], "content.parts.0.data"),
        (
            [{"kind": "text", "text": "ok"}, {"kind": "text", "text": "\x00"}],
            "content.parts.1.text",
        ),
        ([{"kind": "file", "uri": "\x00"}], "content.parts.0.uri"),
        ([{"kind": "data", "data": [1.5, float("nan")]}], "content.parts.0.data.1"),
    ]
    for parts, field in cases:
        with pytest.raises(ValidationFailed) as info:
            await create(scopes=scope, data={**base, "content": {"parts": parts}})
        assert [f for f, _ in fields_and_types(info)] == [field]
    assert (await list_messages(databases.runtime)(scopes=scope)).pagination.total == 0


# ---------------------------------------------------------------------- size, numbers


async def test_json_size_bound(databases: TestDatabases, ids: Ids) -> None:
    graph = Graph(databases)
    ctx = Context(ids.tenant, ids.project)
    await graph.need("project", ctx)
    scope = ctx.project_scope()
    create = create_tool(databases.manage)
    # {"s":"..."} is 8 bytes around the string.
    fits = {"s": "x" * (JSON_MAX_BYTES - 8)}
    tool = await create(
        scopes=scope, data={"id": "t", "name": "T", "config": MCP_CONFIG, "capabilities": fits}
    )
    assert await get_tool(databases.manage)(scopes=scope, tool_id="t") == tool
    too_big = {"s": "x" * (JSON_MAX_BYTES - 7)}
    with pytest.raises(ValidationFailed) as info:
        await create(
            scopes=scope,
            data={"id": "u", "name": "U", "config": MCP_CONFIG, "capabilities": too_big},
        )
    assert fields_and_types(info) == [("capabilities", JSON_TOO_LARGE)]


@pytest.mark.parametrize(
    "number",
    [float("nan"), float("inf"), float("-inf"), 10**5000],
    ids=["nan", "inf", "-inf", "5001-digits"],
)
async def test_numbers_json_cannot_carry_are_refused(
    databases: TestDatabases, ids: Ids, number: Any
) -> None:
    graph = Graph(databases)
    ctx = Context(ids.tenant, ids.project)
    await graph.need("conversation", ctx)
    with pytest.raises(ValidationFailed) as info:
        await update_conversation(databases.runtime)(
            scopes=ctx.project_scope(),
            conversation_id=CONVERSATION,
            data={"properties": {"score": [number]}},
        )
    assert fields_and_types(info) == [("properties.score.0", JSON_INVALID_NUMBER)]


# ---------------------------------------------------------------------- documents


async def test_documents_are_bounded_and_round_trip_at_the_bound(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = ProjectScope(ids.tenant, ids.project)
    put = put_full_project(databases.manage, databases.runtime)
    document = realistic_project(ids.project)
    # The deepest value a column may hold, nested inside the document.
    options = {"x": nested(JSON_MAX_DEPTH - 3)}  # models > base > provider_options > ...
    document["agents"]["triage"]["models"] = with_provider_options(options)
    await put(scopes=scope, document=document)
    stored = await get_full_project(databases.manage)(scopes=scope)
    assert stored is not None
    assert stored["agents"]["triage"]["models"]["base"]["provider_options"] == options

    broken = realistic_project(ids.project)
    broken["agents"]["triage"]["models"] = with_provider_options({"x": nested(JSON_MAX_DEPTH)})
    broken["agents"]["triage"]["sub_agents"]["router"]["prompt"] = "nul\x00"
    with pytest.raises(ValidationFailed) as info:
        await put(scopes=scope, document=broken)
    assert sorted(fields_and_types(info)) == [
        ("agents.triage.models.base.provider_options", JSON_TOO_DEEP),
        ("agents.triage.sub_agents.router.prompt", NUL_CHARACTER),
    ]
    assert await get_full_project(databases.manage)(scopes=scope) == stored


# ---------------------------------------------------------------------- driver errors


async def test_driver_refusal_names_the_column(databases: TestDatabases, ids: Ids) -> None:
    # Input validation normally stops this first; the driver's own error still becomes
    # one typed entry naming the column, on both backends.
    graph = Graph(databases)
    ctx = Context(ids.tenant, ids.project)
    scope = await graph.prepare(AGENTS, ctx)
    values = {**AGENTS.insert_values(resolve(scope), {"id": "a", "name": "A"}), "name": None}
    with pytest.raises(ValidationFailed) as info:
        async with writing(databases.manage, scope) as access:
            await AGENTS.insert_row(access, values)
    assert info.value.errors == [
        {"field": "name", "message": "must not be null", "type": "not_null"}
    ]
