"""PostgreSQL databases owned by one role and used by another, as production runs them,
and a test build of the data layer whose tenant filters are gone."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import event
from sqlalchemy.engine import make_url

from agentfold_core.db.engine import Database, create_database
from agentfold_core.migrations import upgrade
from agentfold_core.settings import DatabaseSettings
from tests.support.databases import postgres_server_url


@dataclass
class AppRoleDatabases:
    """Two scratch databases migrated by an owner role and used by an application role
    that is neither their owner nor a superuser."""

    __test__ = False

    owner: str
    app: str
    manage_url: str  # as the application role
    runtime_url: str
    owner_manage_url: str
    owner_runtime_url: str
    manage: Database  # the application's, reads across tenants on the owner's
    runtime: Database

    def settings(self, **changes: Any) -> DatabaseSettings:
        """Service settings: the application's URLs and the owner's for system reads."""
        return DatabaseSettings(
            manage_database_url=self.manage_url,
            runtime_database_url=self.runtime_url,
            manage_migration_url=self.owner_manage_url,
            runtime_migration_url=self.owner_runtime_url,
            **changes,
        )


def _url(server: str, user: str, database: str) -> str:
    url = make_url(server).set(drivername="postgresql+psycopg", username=user, database=database)
    return url.render_as_string(hide_password=False)


def _admin(server: str) -> psycopg.Connection[Any]:
    conninfo = make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(conninfo, autocommit=True)


@contextmanager
def _app_role_setting(role: str) -> Iterator[None]:
    # The migrations grant the role named by the setting its rows.
    old = os.environ.get("AGENTFOLD_APP_ROLE")
    os.environ["AGENTFOLD_APP_ROLE"] = role
    try:
        yield
    finally:
        if old is None:
            del os.environ["AGENTFOLD_APP_ROLE"]
        else:
            os.environ["AGENTFOLD_APP_ROLE"] = old


@dataclass(frozen=True)
class OwnedDatabases:
    """Scratch roles and the two databases the owner role owns, not yet migrated."""

    __test__ = False

    server: str
    owner: str
    app: str
    names: dict[str, str]  # by database role (manage, runtime)

    def url(self, user: str, role: str) -> str:
        """The SQLAlchemy URL of database ``role`` as ``user``."""
        return _url(self.server, user, self.names[role])


@contextmanager
def owned_databases(server: str, label: str = "rls") -> Iterator[OwnedDatabases]:
    """An owner role, an application role the owner may become (for one URL and SET
    ROLE; never the other way round, which would give the application the system
    policy) and two databases of the owner's; all dropped on exit."""
    token = f"{os.getpid()}_{secrets.token_hex(3)}"
    owner, app = f"agentfold_owner_{token}", f"agentfold_app_{token}"
    names = {role: f"agentfold_{label}_{token}_{role}" for role in ("manage", "runtime")}
    with _admin(server) as admin:
        admin.execute(f'CREATE ROLE "{owner}" LOGIN')
        admin.execute(f'CREATE ROLE "{app}" LOGIN')
        admin.execute(f'GRANT "{app}" TO "{owner}"')
        for name in names.values():
            admin.execute(f'CREATE DATABASE "{name}" OWNER "{owner}"')
    try:
        yield OwnedDatabases(server, owner, app, names)
    finally:
        with _admin(server) as admin:
            for name in names.values():
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'DROP ROLE IF EXISTS "{app}"')
            admin.execute(f'DROP ROLE IF EXISTS "{owner}"')


@asynccontextmanager
async def app_role_databases() -> AsyncIterator[AppRoleDatabases]:
    """Create the roles and databases, migrate as the owner, drop everything after."""
    server = postgres_server_url()
    assert server is not None
    with owned_databases(server) as owned:
        owner, app = owned.owner, owned.app
        owners = {role: owned.url(owner, role) for role in owned.names}
        apps = {role: owned.url(app, role) for role in owned.names}
        for role in ("manage", "runtime"):
            migrating = create_database(owners[role], role)
            try:
                with _app_role_setting(app):
                    await upgrade(migrating)
            finally:
                await migrating.dispose()
        dbs = AppRoleDatabases(
            owner=owner,
            app=app,
            manage_url=apps["manage"],
            runtime_url=apps["runtime"],
            owner_manage_url=owners["manage"],
            owner_runtime_url=owners["runtime"],
            manage=create_database(apps["manage"], "manage", system_url=owners["manage"]),
            runtime=create_database(apps["runtime"], "runtime", system_url=owners["runtime"]),
        )
        try:
            yield dbs
        finally:
            await dbs.manage.dispose()
            await dbs.runtime.dispose()


# A comparison of a tenant column with a bound value, as SQLAlchemy writes it in a
# WHERE clause (``agents.tenant_id = %(tenant_id_1)s``); assignments in SET and VALUES
# have no spaces around ``=`` and are left alone. Joins compare two columns: kept.
_TENANT_FILTER = re.compile(r'(?:"?\w+"?\.)?"?tenant_id"? = %\(\w+\)s(?:::VARCHAR)?')


def _unscoped(
    _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
) -> tuple[str, Any]:
    return _TENANT_FILTER.sub("true", statement), parameters


@contextmanager
def tenant_filters_removed(*databases: Database) -> Iterator[None]:
    """A test build of the data layer: every statement sent through ``databases`` loses
    its tenant conditions, so only row-level security can keep tenants apart."""
    engines = [
        engine.sync_engine
        for database in databases
        for engine in (database.engine, *((database.system.engine,) if database.system else ()))
    ]
    for engine in engines:
        event.listen(engine, "before_cursor_execute", _unscoped, retval=True)
    try:
        yield
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", _unscoped)
