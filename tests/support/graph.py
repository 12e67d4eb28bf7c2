"""Builds the parent rows a sample needs, in any scope, and reads rows back for checks.

``Graph.prepare(entity, ctx)`` creates everything the entity's sample needs (project via
``create_project``, agents, sub-agents, tools, ...) and returns the scope to create the
sample in. Parents are created once per scope, so two contexts that share a project
(two branches, two agents) share its project-level parents.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import and_, func, select
from sqlmodel import SQLModel

from agentfold_core.data_access.doors import writing
from agentfold_core.data_access.project_lifecycle import create_project
from agentfold_core.data_access.runtime.tenants import create_tenant
from agentfold_core.db.columns import ScopeLevel
from agentfold_core.db.engine import Database
from agentfold_core.pagination import MAX_LIMIT
from agentfold_core.scopes import DEFAULT_BRANCH, ProjectScope, TenantScope
from agentfold_core.versioning.branches import create_branch
from agentfold_core.versioning.operations import log
from tests.support.databases import TestDatabases
from tests.support.entities import (
    AnyEntity,
    all_entities,
    entity_for,
    functions,
    is_manage,
    scope_at,
)
from tests.support.samples import AGENT, NODES, SAMPLES, SUB_AGENT, Payload, Sample, Slot

Row = tuple[str, tuple[Any, ...]]


@dataclass(frozen=True)
class Context:
    """Where rows go: tenant, project, branch, and the agent/sub-agent of deeper scopes."""

    tenant: str
    project: str
    ref: str = DEFAULT_BRANCH
    agent: str = AGENT
    sub_agent: str = SUB_AGENT

    def but(self, **changes: str) -> Context:
        """The same context with some ids changed."""
        return replace(self, **changes)

    def scope(self, level: ScopeLevel) -> TenantScope:
        """The scope object of ``level`` in this context."""
        return scope_at(
            level,
            tenant=self.tenant,
            project=self.project,
            ref=self.ref,
            agent=self.agent,
            sub_agent=self.sub_agent,
        )

    def project_scope(self) -> ProjectScope:
        """This context's project, at its branch."""
        return ProjectScope(self.tenant, self.project, ref=self.ref)

    def fill(self, payload: Payload) -> dict[str, Any]:
        """``payload`` with its slots filled from this context."""
        slots = {Slot.PROJECT: self.project, Slot.AGENT: self.agent, Slot.SUB_AGENT: self.sub_agent}
        return {k: slots[v] if isinstance(v, Slot) else v for k, v in payload.items()}


def sample_for(entity: AnyEntity) -> Sample:
    """The sample of the entity's table; a missing one is a test-suite defect."""
    try:
        return SAMPLES[entity.traits.name]
    except KeyError:
        raise LookupError(
            f"no sample payload for table {entity.traits.name!r}: add one to "
            "tests/support/samples.py SAMPLES"
        ) from None


def implied_needs(entity: AnyEntity) -> tuple[str, ...]:
    """The node owning the entity's scope (its project, agent or sub-agent row)."""
    if entity.traits.self_scoped:
        return ()
    level = entity.traits.level
    if is_manage(entity):
        return {
            ScopeLevel.PROJECT: ("project",),
            ScopeLevel.AGENT: ("agent",),
            ScopeLevel.SUB_AGENT: ("sub_agent",),
        }[level]
    return () if level is ScopeLevel.TENANT else ("project",)


def scope_for(entity: AnyEntity, ctx: Context) -> TenantScope:
    """The scope the entity's rows of ``ctx`` are addressed with."""
    return ctx.scope(entity.traits.level)


class Graph:
    """Creates parent rows on demand, each once."""

    def __init__(self, dbs: TestDatabases) -> None:
        self.dbs = dbs
        self._made: set[tuple[object, ...]] = set()

    def db(self, entity: AnyEntity) -> Database:
        """The database holding the entity's table."""
        return self.dbs.manage if is_manage(entity) else self.dbs.runtime

    async def need(self, name: str, ctx: Context) -> None:
        """Make sure node ``name`` exists in ``ctx``."""
        if name == "tenant":
            await self._tenant(ctx)
            return
        if name == "project":
            await self._project(ctx)
            return
        node = NODES[name]
        entity = entity_for(node.table)
        scope = scope_for(entity, ctx)
        payload = ctx.fill(node.payload)
        # The node's own id may come from the context (the agent of an agent scope).
        key = ("node", name, scope, payload["id"])
        if key in self._made:
            return
        for dependency in (*implied_needs(entity), *node.needs):
            await self.need(dependency, ctx)
        await self.add(entity, scope, payload)
        self._made.add(key)

    async def _tenant(self, ctx: Context) -> None:
        key = ("tenant", ctx.tenant)
        if key not in self._made:
            await create_tenant(self.dbs.runtime)(
                scopes=TenantScope(ctx.tenant), data={"name": f"Tenant {ctx.tenant}"}
            )
            self._made.add(key)

    async def _project(self, ctx: Context) -> None:
        key = ("project", ctx.tenant, ctx.project)
        if key not in self._made:
            if ("tenant", ctx.tenant) not in self._made:
                # create_project creates the tenant row on first use.
                self._made.add(("tenant", ctx.tenant))
            await create_project(self.dbs.manage, self.dbs.runtime)(
                scopes=TenantScope(ctx.tenant),
                data={"id": ctx.project, "name": f"Project {ctx.project}"},
            )
            self._made.add(key)
        branch_key = (*key, ctx.ref)
        if ctx.ref != DEFAULT_BRANCH and branch_key not in self._made:
            # A branch from the project's first commit: its project row and nothing else,
            # for tests to fill like the default branch.
            main = ctx.project_scope().at(DEFAULT_BRANCH)
            history = await log(self.dbs.manage)(scopes=main, limit=MAX_LIMIT)
            root = history.data[-1].id
            await create_branch(self.dbs.manage)(scopes=main.at(root), name=ctx.ref)
            self._made.add(branch_key)

    async def prepare(self, entity: AnyEntity, ctx: Context) -> TenantScope:
        """Create the parents of the entity's sample in ``ctx``; return its scope."""
        for dependency in (*implied_needs(entity), *sample_for(entity).needs):
            await self.need(dependency, ctx)
        return scope_for(entity, ctx)

    async def add(
        self,
        entity: AnyEntity,
        scope: TenantScope,
        payload: Mapping[str, Any],
        secret: Mapping[str, Any] | None = None,
    ) -> Any:
        """Create a row through the public ``create``; rows with secret columns (which
        ``create`` cannot take) are inserted the way their owning module would."""
        db = self.db(entity)
        if not secret:
            return await functions(entity).create(db)(scopes=scope, data=payload)
        async with writing(db, scope) as access:
            values = {**entity.insert_values(access.target, payload), **secret}
            return await entity.insert_row(access, values)

    async def create_sample(self, entity: AnyEntity, ctx: Context) -> Any:
        """Create the entity's sample row (and its parents) in ``ctx``."""
        scope = await self.prepare(entity, ctx)
        sample = sample_for(entity)
        row = await self.add(entity, scope, ctx.fill(sample.create), sample.secret)
        self._made.add(("sample", entity.traits.name, scope))
        return row

    async def populate(self, ctx: Context, entities: Iterable[AnyEntity]) -> None:
        """Create the sample row of each entity (rows that own a scope excepted)."""
        for entity in entities:
            if entity.traits.self_scoped:
                continue
            if ("sample", entity.traits.name, scope_for(entity, ctx)) not in self._made:
                await self.create_sample(entity, ctx)


def manage_entities() -> list[AnyEntity]:
    """Entities of the manage database."""
    return [e for e in all_entities() if is_manage(e)]


def runtime_entities() -> list[AnyEntity]:
    """Entities of the runtime database."""
    return [e for e in all_entities() if not is_manage(e)]


async def count(db: Database, entity: AnyEntity, **filters: Any) -> int:
    """How many rows of the entity's table match ``filters`` (column equality)."""
    table = entity.table
    condition = and_(*(table.c[name] == value for name, value in filters.items()))
    async with db.read() as conn:
        stmt = select(func.count()).select_from(table).where(condition)
        return int((await conn.execute(stmt)).scalar_one())


async def keys(dbs: TestDatabases, entity: AnyEntity, **filters: Any) -> set[Row]:
    """Primary keys of the rows matching ``filters``, tagged with the table name."""
    table = entity.table
    db = dbs.manage if is_manage(entity) else dbs.runtime
    pk = list(table.primary_key.columns)
    condition = and_(*(table.c[name] == value for name, value in filters.items()))
    async with db.read() as conn:
        result = await conn.execute(select(*pk).where(condition))
        return {(entity.traits.name, tuple(r)) for r in result}


async def snapshot(dbs: TestDatabases, tenants: Iterable[str]) -> set[Row]:
    """Every row of both databases belonging to ``tenants`` (by primary key)."""
    wanted = list(tenants)
    rows: set[Row] = set()
    for db, manage in ((dbs.manage, True), (dbs.runtime, False)):
        async with db.read() as conn:
            for entity in all_entities():
                if is_manage(entity) != manage:
                    continue
                column = "id" if entity.traits.name == "tenants" else "tenant_id"
                table = entity.table
                result = await conn.execute(
                    select(*table.primary_key.columns).where(table.c[column].in_(wanted))
                )
                rows |= {(entity.traits.name, tuple(r)) for r in result}
    return rows


def dump(row: SQLModel) -> dict[str, Any]:
    """A row as plain data, for comparisons."""
    return row.model_dump()


def shown(entity: AnyEntity, row: SQLModel | None) -> dict[str, Any] | None:
    """What public reads return of ``row``: every column but the secrets (API key hashes)."""
    if row is None:
        return None
    return {k: v for k, v in dump(row).items() if k not in entity.traits.secrets}


def expected_fields(entity: AnyEntity, payload: Mapping[str, Any]) -> dict[str, Any]:
    """What the given payload fields read back as (validated like create validates)."""
    validated = entity.models.api_insert.model_validate(dict(payload)).model_dump()
    return {name: validated[name] for name in payload}
