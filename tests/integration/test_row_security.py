"""Row-level security on PostgreSQL: the application role, in a tenant's door, sees and
writes that tenant's rows only, even through a query that forgets its scope."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from agentfold_core.data_access.doors import reading, reading_system, session, writing
from agentfold_core.data_access.manage.agents import create_agent, get_agent, list_agents
from agentfold_core.data_access.project_lifecycle import create_project
from agentfold_core.data_access.runtime.api_keys import issue_api_key, verify_api_key
from agentfold_core.data_access.runtime.tenants import create_tenant
from agentfold_core.db.engine import create_database
from agentfold_core.migrations import check
from agentfold_core.scopes import ProjectScope, TenantScope
from agentfold_core.settings import DatabaseSettings
from tests.support.databases import Backend, postgres_server_url
from tests.support.row_security import AppRoleDatabases, app_role_databases

TENANTS = ("acme", "globex")


@pytest.fixture(scope="module")
async def app(backend: Backend) -> AsyncIterator[AppRoleDatabases]:
    """Databases of both tenants' projects, used by the application role."""
    if backend != "postgresql":
        pytest.skip("row-level security is PostgreSQL's; SQLite relies on the data layer")
    async with app_role_databases() as dbs:
        for tenant in TENANTS:
            await create_tenant(dbs.runtime)(scopes=TenantScope(tenant), data={"name": tenant})
            await create_project(dbs.manage, dbs.runtime)(
                scopes=TenantScope(tenant), data={"id": "shop", "name": "Shop"}
            )
            scope = ProjectScope(tenant, "shop")
            await create_agent(dbs.manage)(scopes=scope, data={"id": "triage", "name": tenant})
        yield dbs


async def test_the_application_role_is_subject_to_the_policies(app: AppRoleDatabases) -> None:
    async with app.manage.read() as conn:
        role = (
            await conn.execute(
                text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            )
        ).one()
        owner = (
            await conn.execute(text("SELECT tableowner FROM pg_tables WHERE tablename = 'agents'"))
        ).scalar_one()
    assert tuple(role) == (False, False)
    assert owner == app.owner


async def test_an_unscoped_query_sees_only_the_doors_tenant(app: AppRoleDatabases) -> None:
    forgetful = text("SELECT tenant_id, name FROM agents")
    async with reading(app.manage, ProjectScope("acme", "shop")) as access:
        assert (await access.conn.execute(forgetful)).all() == [("acme", "acme")]
    async with writing(app.manage, ProjectScope("globex", "shop")) as access:
        assert (await access.conn.execute(forgetful)).all() == [("globex", "globex")]
    # A snapshot read and a held session too, across both databases.
    async with reading(app.manage, ProjectScope("acme", "shop"), snapshot=True) as access:
        assert (await access.conn.execute(forgetful)).all() == [("acme", "acme")]
    async with session(app.runtime) as unit, reading(unit, TenantScope("globex")) as access:
        tenants = (await access.conn.execute(text("SELECT id FROM tenants"))).scalars().all()
        projects = await access.conn.execute(text("SELECT tenant_id FROM project_metadata"))
        assert (tenants, projects.scalars().all()) == (["globex"], ["globex"])


async def test_an_insert_for_another_tenant_is_refused(app: AppRoleDatabases) -> None:
    insert = text(
        "INSERT INTO tenants (id, name, created_at, updated_at) "
        "VALUES ('initech', 'Initech', now(), now())"
    )
    with pytest.raises(ProgrammingError, match="row-level security"):
        async with writing(app.runtime, TenantScope("acme")) as access:
            await access.conn.execute(insert)
    moved = text("UPDATE agents SET tenant_id = 'globex' WHERE tenant_id = 'acme'")
    with pytest.raises(ProgrammingError, match="row-level security"):
        async with writing(app.manage, ProjectScope("acme", "shop")) as access:
            await access.conn.execute(moved)
    async with reading_system(app.runtime) as system:
        found = await system.conn.execute(text("SELECT id FROM tenants ORDER BY id"))
        assert found.scalars().all() == list(TENANTS)


async def test_without_a_tenant_nothing_is_visible(app: AppRoleDatabases) -> None:
    for database, table in ((app.manage, "agents"), (app.runtime, "tenants")):
        async with database.read() as conn:
            count = text(f"SELECT count(*) FROM {table}")  # noqa: S608 - a fixed name
            assert (await conn.execute(count)).scalar_one() == 0
        # The application role may claim to be the system: the policy ignores it.
        async with database.read() as conn:
            await conn.execute(text("SELECT set_config('agentfold.system', 'on', false)"))
            count = text(f"SELECT count(*) FROM {table}")  # noqa: S608 - a fixed name
            assert (await conn.execute(count)).scalar_one() == 0
            await conn.execute(text("RESET agentfold.system"))


async def test_a_kept_connection_carries_no_tenant_into_its_next_use(
    app: AppRoleDatabases,
) -> None:
    forgetful = text("SELECT count(*) FROM agents")
    async with reading(app.manage, ProjectScope("acme", "shop")) as access:
        assert (await access.conn.execute(forgetful)).scalar_one() == 1
        used = access.conn
    # The connection is kept between uses (no checkin): its next user, binding no
    # tenant, still sees nothing.
    async with app.manage.read() as conn:
        assert conn is used
        assert (await conn.execute(forgetful)).scalar_one() == 0


async def test_the_data_layer_works_as_the_application_role(app: AppRoleDatabases) -> None:
    scope = ProjectScope("acme", "shop")
    found = await get_agent(app.manage)(scopes=scope, agent_id="triage")
    assert found is not None
    assert found.name == "acme"
    page = await list_agents(app.manage)(scopes=scope)
    assert [agent.name for agent in page.data] == ["acme"]
    # System reads go to the owner's connection and see every tenant.
    async with reading_system(app.manage) as system:
        rows = await system.conn.execute(text("SELECT DISTINCT tenant_id FROM agents"))
        assert sorted(rows.scalars()) == list(TENANTS)


async def test_one_url_and_set_role(app: AppRoleDatabases) -> None:
    """The owner's URL with AGENTFOLD_APP_ROLE: tenant doors run as the application role."""
    owner = create_database(app.owner_manage_url, "manage", app.settings(app_role=app.app))
    try:
        async with reading(owner, ProjectScope("globex", "shop")) as access:
            who = await access.conn.execute(text("SELECT current_user, count(*) FROM agents"))
            assert tuple(who.one()) == (app.app, 1)
        async with reading_system(owner) as system:
            who = await system.conn.execute(text("SELECT current_user, count(*) FROM agents"))
            assert tuple(who.one()) == (app.owner, 2)
    finally:
        await owner.dispose()


async def test_check_fails_when_a_policy_is_dropped(app: AppRoleDatabases) -> None:
    owner = create_database(app.owner_manage_url, "manage")
    try:
        assert (await check(owner)).ok
        async with owner.write() as conn:
            await conn.execute(text("DROP POLICY agentfold_tenant ON agents"))
        try:
            report = await check(owner)
            assert not report.ok
            assert report.differences == (
                "row-level security of agents: no policy agentfold_tenant",
            )
            assert report.fix_command == "call enable_row_security(table) in a revision for agents"
        finally:
            async with owner.write() as conn:
                await conn.execute(
                    text(
                        "CREATE POLICY agentfold_tenant ON agents "
                        "USING (tenant_id = current_setting('agentfold.tenant_id', true)) "
                        "WITH CHECK (tenant_id = current_setting('agentfold.tenant_id', true))"
                    )
                )
        assert (await check(owner)).ok
    finally:
        await owner.dispose()


@pytest.mark.parametrize(
    ("url", "settings"),
    [
        pytest.param("superuser", DatabaseSettings(), id="superuser-bypassing-the-policies"),
        pytest.param("app", DatabaseSettings(row_security=False), id="row-security-off"),
        pytest.param("app", DatabaseSettings(), id="application-role"),
    ],
)
async def test_a_transaction_sends_its_begin_with_its_first_statement(
    app: AppRoleDatabases, url: str, settings: DatabaseSettings
) -> None:
    """Whether or not statements carry a tenant, a write transaction's BEGIN costs no
    round trip of its own: nothing reaches the server until the first statement."""
    target = app.manage_url
    if url == "superuser":
        # The server's own user (a superuser, as a service connecting as ``postgres``).
        server = postgres_server_url()
        assert server is not None
        target = (
            make_url(app.manage_url)
            .set(username=make_url(server).username, password=make_url(server).password)
            .render_as_string(hide_password=False)
        )
    database = create_database(target, "manage", settings)
    try:
        async with database.write() as conn:
            sync = conn.sync_connection
            assert sync is not None
            driver = sync.connection.driver_connection
            assert driver is not None
            assert driver.info.transaction_status == TransactionStatus.IDLE
            await conn.execute(text("SELECT 1"))
            assert driver.info.transaction_status == TransactionStatus.INTRANS
        assert driver.info.transaction_status == TransactionStatus.IDLE
    finally:
        await database.dispose()


async def test_concurrent_key_checks_reuse_the_owners_connections(app: AppRoleDatabases) -> None:
    """Every authenticated request reads its key on the owner's connection (a system
    read): as many at once as the pool holds must not connect anew each time."""
    issued = await issue_api_key(app.runtime)(
        scopes=TenantScope(TENANTS[0]), data={"project_id": "shop"}
    )
    system = app.runtime.system
    assert system is not None
    connects: list[object] = []
    event.listen(system.engine.sync_engine, "connect", lambda *_: connects.append(1))
    verify = verify_api_key(app.runtime)
    together = DatabaseSettings().pool_size

    async def checks() -> None:
        found = await asyncio.gather(*(verify(key=issued.key) for _ in range(together)))
        assert all(key is not None and key.id == issued.row.id for key in found)

    # The first rounds may open connections: on a loaded machine the checks of a round
    # do not all overlap, so the pool may reach its size only in a later round.
    for _ in range(5):
        opened = len(connects)
        await checks()
        if len(connects) == opened:
            break
    opened = len(connects)
    for _ in range(3):
        await checks()
    assert len(connects) == opened
