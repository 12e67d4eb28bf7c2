"""Generic CRUD behaviour of every entity of both databases.

The entity list comes from introspection (``tests.support.entities``), the inputs from
``tests.support.samples.SAMPLES``: a new entity without a sample fails here.
"""

from __future__ import annotations

from typing import Any

import pytest
from _pytest.mark import ParameterSet

from agentfold_core.data_access.manage.agents import AGENTS
from agentfold_core.data_access.registry import REGISTRY
from agentfold_core.db.base import entity_tables, manage_metadata, runtime_metadata
from agentfold_core.db.columns import ScopeLevel
from agentfold_core.errors import Conflict, ValidationFailed
from agentfold_core.pagination import MAX_LIMIT, Pagination
from tests.conftest import Ids
from tests.support.databases import TestDatabases
from tests.support.entities import (
    OPERATIONS,
    AnyEntity,
    all_entities,
    entity_for,
    functions,
    ident,
    scope_key,
)
from tests.support.graph import (
    Context,
    Graph,
    dump,
    expected_fields,
    sample_for,
    scope_for,
    shown,
)
from tests.support.samples import NODES, SAMPLES

# Tables whose rows are created by a domain function, not a public create/upsert
# (API keys by issue_api_key, which generates the key material); their other functions
# are covered by test_round_trip_of_rows_with_secret_columns.
CREATED_ELSEWHERE = {
    "api_keys": "issued by data_access.runtime.api_keys.issue_api_key",
    "credential_secrets": "sealed and stored by the encrypted credential store",
}


def entity_params(*, public_create: bool = False) -> list[ParameterSet]:
    """One parameter per entity, id'd by table name (only publicly created ones if asked)."""
    return [
        pytest.param(entity, id=entity.traits.name)
        for entity in all_entities()
        if not (public_create and entity.traits.name in CREATED_ELSEWHERE)
    ]


# ---------------------------------------------------------------------- coverage


def test_introspection_finds_every_table_of_both_databases() -> None:
    tables = {t.name for m in (manage_metadata, runtime_metadata) for t in entity_tables(m)}
    found = [e.traits.name for e in all_entities()]
    assert len(found) == len(set(found)), "two entities over one table"
    assert set(found) == tables


def test_every_entity_has_a_sample() -> None:
    names = {e.traits.name for e in all_entities()}
    missing = sorted(names - set(SAMPLES))
    assert not missing, f"add sample payloads to tests/support/samples.py for {missing}"
    stale = sorted(set(SAMPLES) - names)
    assert not stale, f"samples for tables that no longer exist: {stale}"
    assert {node.table for node in NODES.values()} <= names


@pytest.mark.parametrize("entity", entity_params())
def test_sample_is_valid_input(entity: AnyEntity) -> None:
    sample = sample_for(entity)
    ctx = Context("t", "p")
    entity.models.api_insert.model_validate(ctx.fill(sample.create))
    update = entity.models.api_update.model_validate(ctx.fill(sample.update))
    # An empty update sample is only allowed where nothing can be updated.
    assert bool(update.model_fields_set) == bool(entity.models.api_update.model_fields)


# Operations an entity's module deliberately does not export, with the reason.
NOT_EXPORTED = {
    ("projects", "create"): "data_access.project_lifecycle.create_project writes both databases",
    ("projects", "delete"): "data_access.project_lifecycle.delete_project writes both databases",
    ("projects", "upsert"): "a manage row without runtime metadata would be a half-project",
    ("project_metadata", "create"): "created by data_access.project_lifecycle.create_project",
    ("project_metadata", "upsert"): "created by data_access.project_lifecycle.create_project",
    ("project_metadata", "delete"): "deleted by data_access.project_lifecycle.delete_project",
    ("project_metadata", "list"): "projects are listed from the manage database",
    ("tenants", "list"): "a tenant scope addresses exactly one tenant",
    ("api_keys", "create"): CREATED_ELSEWHERE["api_keys"],
    ("api_keys", "upsert"): CREATED_ELSEWHERE["api_keys"],
    **{
        ("credential_secrets", op): CREATED_ELSEWHERE["credential_secrets"]
        for op in ("create", "update", "upsert")
    },
    ("agent_runs", "update"): "runs change through heartbeat and finish_run",
    ("agent_runs", "upsert"): "a run's ancestors are derived once, by start_run",
    ("llm_calls", "update"): "the call log is append-only",
    ("llm_calls", "upsert"): "the call log is append-only",
    **{
        (table, op): "credits change only through grant_credits and consume_credits"
        for table in ("credit_grants", "credit_ledger")
        for op in ("create", "update", "upsert", "delete")
    },
    **{
        ("audit_events", op): "the audit log is append-only, through record_audit_event"
        for op in ("create", "update", "upsert", "delete")
    },
}


@pytest.mark.parametrize("entity", entity_params())
def test_entity_exports_its_curried_functions(entity: AnyEntity) -> None:
    fns = functions(entity)
    missing = {(entity.traits.name, op) for op in OPERATIONS if op not in fns.public}
    assert missing <= set(NOT_EXPORTED), f"export {sorted(missing - set(NOT_EXPORTED))}"
    assert "get" in fns.public
    for operation in fns.public:
        curried = getattr(fns, operation)
        # Public names are curried on the database: calling with one yields the function.
        assert callable(curried(object()))


# ---------------------------------------------------------------------- round trip


@pytest.mark.parametrize("entity", entity_params(public_create=True))
async def test_crud_round_trip(databases: TestDatabases, ids: Ids, entity: AnyEntity) -> None:
    graph = Graph(databases)
    ctx = Context(ids.tenant, ids.project)
    sample = sample_for(entity)
    scope = await graph.prepare(entity, ctx)
    db = graph.db(entity)
    fns = functions(entity)
    get, list_rows, update_row = fns.get(db), fns.list(db), fns.update(db)
    payload = ctx.fill(sample.create)
    assert (await list_rows(scopes=scope)).pagination.total == 0

    created = await fns.create(db)(scopes=scope, data=payload)
    assert {k: dump(created)[k] for k in payload} == expected_fields(entity, payload)
    scope_values = scope_key(entity, scope)
    assert {k: dump(created)[k] for k in scope_values} == scope_values
    key = ident(entity, created.id)
    assert await get(scopes=scope, **key) == created

    page = await list_rows(scopes=scope, limit=1)
    assert page.data == [created]
    assert page.pagination == Pagination(page=1, limit=1, total=1, pages=1)
    beyond = await list_rows(scopes=scope, page=2, limit=1)
    assert beyond.data == []
    assert beyond.pagination == Pagination(page=2, limit=1, total=1, pages=1)

    update = ctx.fill(sample.update)
    updated = await update_row(scopes=scope, data=update, **key)
    assert updated is not None
    validated = entity.models.api_update.model_validate(update).model_dump()
    changes = {name: validated[name] for name in update}
    for name, value in changes.items():
        assert dump(updated)[name] == value
        assert dump(created)[name] != value, f"sample update of {name} changes nothing"
    untouched = set(dump(created)) - set(changes) - {"updated_at"}
    assert {k: dump(updated)[k] for k in untouched} == {k: dump(created)[k] for k in untouched}
    assert updated.created_at == created.created_at
    assert updated.updated_at > created.updated_at
    assert await get(scopes=scope, **key) == updated

    # Upsert with the original payload replaces the row: the update is undone, the
    # creation time kept, the update time bumped, and no second row appears.
    upserted = await fns.upsert(db)(scopes=scope, data=payload)
    assert {k: v for k, v in dump(upserted).items() if k != "updated_at"} == {
        k: v for k, v in dump(created).items() if k != "updated_at"
    }
    assert upserted.updated_at > updated.updated_at
    assert await get(scopes=scope, **key) == upserted
    assert (await list_rows(scopes=scope)).pagination.total == 1

    assert await fns.delete(db)(scopes=scope, **key) is True
    assert await get(scopes=scope, **key) is None
    assert await fns.delete(db)(scopes=scope, **key) is False
    assert await update_row(scopes=scope, data=update, **key) is None
    assert (await list_rows(scopes=scope)).pagination.total == 0


@pytest.mark.parametrize(
    "entity",
    [
        pytest.param(e, id=e.traits.name)
        for e in all_entities()
        if e.traits.name in SAMPLES and SAMPLES[e.traits.name].secret
    ],
)
async def test_round_trip_of_rows_with_secret_columns(
    databases: TestDatabases, ids: Ids, entity: AnyEntity
) -> None:
    """Rows whose secret column is set by its owning module (API keys by the secrets
    layer) are read, listed, updated and deleted through the public functions, which
    never return the secret."""
    graph = Graph(databases)
    ctx = Context(ids.tenant, ids.project)
    sample = sample_for(entity)
    created = await graph.create_sample(entity, ctx)
    scope = scope_for(entity, ctx)
    db = graph.db(entity)
    key = ident(entity, created.id)
    get, list_rows = functions(entity).get(db), functions(entity).list(db)
    assert {k: dump(created)[k] for k in sample.secret} == dict(sample.secret)
    got = await get(scopes=scope, **key)
    assert dump(got) == shown(entity, created)
    assert [dump(r) for r in (await list_rows(scopes=scope)).data] == [shown(entity, created)]

    if "update" in REGISTRY.of(entity).operations:
        update = ctx.fill(sample.update)
        updated = await functions(entity).update(db)(scopes=scope, data=update, **key)
        assert updated is not None
        assert entity.traits.secrets.isdisjoint(dump(updated))
        assert {k: dump(updated)[k] for k in update} == {
            k: v
            for k, v in entity.models.api_update.model_validate(update).model_dump().items()
            if k in update
        }
        assert dump(await get(scopes=scope, **key)) == dump(updated)
    # The secret cannot be changed through update.
    with pytest.raises(ValidationFailed):
        await functions(entity).update(db)(scopes=scope, data=dict(sample.secret), **key)

    assert await functions(entity).delete(db)(scopes=scope, **key) is True
    assert await get(scopes=scope, **key) is None


@pytest.mark.parametrize("entity", entity_params())
async def test_duplicate_create_raises_conflict_and_changes_nothing(
    databases: TestDatabases, ids: Ids, entity: AnyEntity
) -> None:
    graph = Graph(databases)
    ctx = Context(ids.tenant, ids.project)
    sample = sample_for(entity)
    first = await graph.create_sample(entity, ctx)
    scope = scope_for(entity, ctx)
    db = graph.db(entity)
    # Same key, different content: the write must fail, not overwrite.
    again = {**ctx.fill(sample.create), **ctx.fill(sample.update)}
    with pytest.raises(Conflict) as info:
        await graph.add(entity, scope, again, sample.secret)
    assert info.value.context["resource"] == entity.label
    again_read = await functions(entity).get(db)(scopes=scope, **ident(entity, first.id))
    assert dump(again_read) == shown(entity, first)
    assert (await functions(entity).list(db)(scopes=scope)).pagination.total == 1


# ---------------------------------------------------------------------- listing


@pytest.mark.parametrize("entity", entity_params())
async def test_pagination_bounds_raise_validation_failed(
    databases: TestDatabases, ids: Ids, entity: AnyEntity
) -> None:
    graph = Graph(databases)
    scope = scope_for(entity, Context(ids.tenant, ids.project))
    list_rows = functions(entity).list(graph.db(entity))
    for page, limit, field in [
        (0, 10, "page"),
        (-1, 10, "page"),
        (1, 0, "limit"),
        (1, MAX_LIMIT + 1, "limit"),
        (1, -5, "limit"),
    ]:
        with pytest.raises(ValidationFailed) as info:
            await list_rows(scopes=scope, page=page, limit=limit)
        assert [e["field"] for e in info.value.errors] == [field]
    empty = await list_rows(scopes=scope, page=7, limit=MAX_LIMIT)
    assert empty.pagination == Pagination(page=7, limit=MAX_LIMIT, total=0, pages=0)


@pytest.mark.parametrize("entity", entity_params())
async def test_where_rejects_unknown_and_scope_columns(
    databases: TestDatabases, ids: Ids, entity: AnyEntity
) -> None:
    graph = Graph(databases)
    scope = scope_for(entity, Context(ids.tenant, ids.project))
    list_rows = functions(entity).list(graph.db(entity))
    scope_columns = list(entity.traits.scope_columns)
    if entity.traits.self_scoped and entity.traits.level is ScopeLevel.TENANT:
        scope_columns.append("id")  # the tenant row: its id is the scope
    assert scope_columns
    for column in ["no_such_column", *scope_columns]:
        with pytest.raises(ValidationFailed) as info:
            await list_rows(scopes=scope, where={column: "x"})
        assert [e["field"] for e in info.value.errors] == [column]


async def test_list_pages_newest_first_and_filters(databases: TestDatabases, ids: Ids) -> None:
    graph = Graph(databases)
    ctx = Context(ids.tenant, ids.project)
    scope = await graph.prepare(AGENTS, ctx)
    create = AGENTS.create(databases.manage)
    created = []
    for i in range(23):
        mode = "durable" if i % 3 == 0 else "classic"
        created.append(
            await create(
                scopes=scope, data={"id": f"a-{i:02d}", "name": f"A{i}", "execution_mode": mode}
            )
        )
    newest_first = [r.id for r in reversed(created)]
    list_agents = AGENTS.list(databases.manage)

    default = await list_agents(scopes=scope)
    assert default.pagination == Pagination(page=1, limit=10, total=23, pages=3)
    seen: list[str] = []
    for page in (1, 2, 3):
        result = await list_agents(scopes=scope, page=page, limit=10)
        assert result.pagination == Pagination(page=page, limit=10, total=23, pages=3)
        seen += [r.id for r in result.data]
    assert seen == newest_first
    assert [r.id for r in default.data] == newest_first[:10]
    assert (await list_agents(scopes=scope, page=4, limit=10)).data == []

    durable = await list_agents(scopes=scope, where={"execution_mode": "durable"}, limit=100)
    assert [r.id for r in durable.data] == [i for i in newest_first if int(i[2:]) % 3 == 0]
    assert durable.pagination.total == 8


@pytest.mark.parametrize(
    ("table", "where"),
    [
        ("triggers", {"enabled": "sometimes"}),
        ("agents", {"name": 5}),
        ("agents", {"execution_mode": "turbo"}),
        ("tools", {"config": {"not": "a tool config"}}),
        ("messages", {"created_at": "yesterday"}),
    ],
)
async def test_where_value_of_the_wrong_type_raises_validation_failed(
    databases: TestDatabases, ids: Ids, table: str, where: dict[str, Any]
) -> None:
    entity = entity_for(table)
    graph = Graph(databases)
    scope = scope_for(entity, Context(ids.tenant, ids.project))
    with pytest.raises(ValidationFailed) as info:
        await functions(entity).list(graph.db(entity))(scopes=scope, where=where)
    assert info.value.errors
    assert {e["field"].split(".")[0] for e in info.value.errors} == set(where)
