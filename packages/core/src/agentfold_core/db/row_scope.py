"""The tenant of every PostgreSQL statement, for row-level security, at no round trip.

Every tenant-scoped table carries a policy comparing its tenant column with the
transaction-local setting ``agentfold.tenant_id`` (``db.row_security``). The doors
(``data_access.doors``) say which tenant a connection works for (``bind``); this
module makes every statement sent on it carry that setting:

- in a transaction, the ``BEGIN`` is not sent when SQLAlchemy begins (``defer_begin``)
  but with the first statement, pipelined as ``[BEGIN; set_config(...); statement]``:
  one round trip, as many as the bare statement needed;
- outside one (a plain read in autocommit), each statement is pipelined as
  ``[set_config(...); statement]``: until the Sync the server runs them as one implicit
  transaction, so the setting holds for the statement and is gone after it.

Every PostgreSQL connection defers its ``BEGIN`` this way, also where no setting is
sent (row-level security off, or a superuser's connection, which bypasses it): a write
transaction then costs no round trip of its own.

Settings are always transaction-local (``set_config(..., true)``), so a connection
never carries a tenant past its transaction: safe behind PgBouncer in transaction
mode, and a pooled connection holds nothing from its last user.

The hook is the driver's cursor class (``ScopedCursor``), so SQLAlchemy's statements,
the prepared statements of ``db.prepared`` and pipelines all go through it.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection, AsyncCursor, AsyncServerCursor

TENANT_SETTING = "agentfold.tenant_id"
SYSTEM_SETTING = "agentfold.system"
_ATTRIBUTE = "_agentfold_scope"


class ConnectionScope:
    """What one driver connection's statements must run with, and what was sent."""

    __slots__ = ("begin", "held", "role", "settings", "system", "tenant", "transaction")

    def __init__(self, role: str | None, *, settings: bool = True) -> None:
        # The application role switched to per transaction (one URL and SET ROLE).
        self.role = role
        # Whether statements carry the tenant (off: row-level security is off, or the
        # connection bypasses it); the deferred BEGIN is sent either way.
        self.settings = settings
        self.tenant: str | None = None
        self.system = False
        self.begin: str | None = None  # a BEGIN not sent yet
        self.transaction = False  # an explicit transaction is open (or deferred)
        self.held = False  # the settings are in force in the open transaction

    def reset(self) -> None:
        """Forget the tenant and the transaction (the connection goes back to the pool)."""
        self.tenant = None
        self.system = False
        self.ended()

    def ended(self) -> None:
        """The transaction ended: the settings went with it."""
        self.begin = None
        self.transaction = False
        self.held = False

    def started(self, begin: str) -> None:
        """A transaction begins: ``begin`` goes out with its first statement."""
        self.begin = begin
        self.transaction = True
        self.held = False

    def bind(self, tenant: str | None, *, system: bool = False) -> None:
        """Run the next statements for ``tenant`` (or, with ``system``, across tenants)."""
        if (tenant, system) != (self.tenant, self.system):
            self.tenant = tenant
            self.system = system
            self.held = False

    def prefix(self) -> list[tuple[str, tuple[str, ...]]]:
        """The statements to send before the next one (none: send it alone)."""
        statements: list[tuple[str, tuple[str, ...]]] = []
        if self.begin is not None:
            statements.append((self.begin, ()))
        if (
            self.settings
            and not self.held
            and (self.tenant is not None or self.system or self.role)
        ):
            statements.append(self._setting())
        return statements

    def sent(self) -> None:
        """The prefix went out: in a transaction the settings now hold until its end."""
        self.begin = None
        self.held = self.transaction

    def _setting(self) -> tuple[str, tuple[str, ...]]:
        values = (self.tenant or "", "on" if self.system else "off")
        if self.role is None or self.system:
            # A system statement keeps the connecting role (the owner) and says so.
            return _SET, values
        return _SET_ROLE, (self.role, *values)


_SET = f"SELECT set_config('{TENANT_SETTING}', %s, true), set_config('{SYSTEM_SETTING}', %s, true)"
# The role first: the settings need no privilege, but the statement runs as the role.
_SET_ROLE = (
    "SELECT set_config('role', %s, true), "
    f"set_config('{TENANT_SETTING}', %s, true), set_config('{SYSTEM_SETTING}', %s, true)"
)


def scope_of(driver: Any) -> ConnectionScope | None:
    """The scope of a psycopg connection (``None``: not a scoped connection)."""
    found: ConnectionScope | None = getattr(driver, _ATTRIBUTE, None)
    return found


def install(driver: AsyncConnection[Any], role: str | None, *, settings: bool = True) -> None:
    """Make every statement of a new psycopg connection carry its scope (without
    ``settings``: only its transaction's deferred ``BEGIN``)."""
    setattr(driver, _ATTRIBUTE, ConnectionScope(role, settings=settings))
    driver.cursor_factory = ScopedCursor
    driver.server_cursor_factory = ScopedServerCursor


Prefix = list[tuple[str, tuple[str, ...]]]


def _pending(conn: AsyncConnection[Any]) -> tuple[ConnectionScope, Prefix] | None:
    scope = scope_of(conn)
    prefix = scope.prefix() if scope is not None else None
    return (scope, prefix) if scope is not None and prefix else None


async def _send(conn: AsyncConnection[Any], statements: Prefix) -> None:
    for sql, values in statements:
        # A plain cursor: the prefix itself carries no prefix.
        await AsyncCursor(conn).execute(sql, values or None)


class ScopedCursor(AsyncCursor[Any]):
    """A cursor that sends its connection's pending ``BEGIN`` and settings, pipelined
    with the statement."""

    async def execute(
        self,
        query: Any,
        params: Any = None,
        *,
        prepare: bool | None = None,
        binary: bool | None = None,
    ) -> ScopedCursor:
        """Execute ``query`` with the scope's prefix in the same round trip."""
        pending = _pending(self._conn)
        if pending is None:
            await super().execute(query, params, prepare=prepare, binary=binary)
            return self
        scope, prefix = pending
        try:
            if self._conn._pipeline is not None:
                # Already pipelined (``db.prepared.run_many``): the prefix joins the queue.
                await _send(self._conn, prefix)
                await super().execute(query, params, prepare=prepare, binary=binary)
            else:
                async with self._conn.pipeline():
                    await _send(self._conn, prefix)
                    await super().execute(query, params, prepare=prepare, binary=binary)
        finally:
            # Sent even when the statement failed: its transaction is open (and aborted).
            scope.sent()
        return self

    async def executemany(self, query: Any, params_seq: Any, *, returning: bool = False) -> None:
        """Execute ``query`` for each parameter set, the scope's prefix first."""
        pending = _pending(self._conn)
        if pending is None:
            await super().executemany(query, params_seq, returning=returning)
            return
        scope, prefix = pending
        try:
            async with self._conn.pipeline():
                await _send(self._conn, prefix)
                await super().executemany(query, params_seq, returning=returning)
        finally:
            scope.sent()


class ScopedServerCursor(AsyncServerCursor[Any]):
    """A named (streaming) cursor: the prefix goes first, in a round trip of its own
    (a server cursor cannot be pipelined; only operator reports stream)."""

    async def execute(
        self,
        query: Any,
        params: Any = None,
        *,
        binary: bool | None = None,
        **kwargs: Any,
    ) -> ScopedServerCursor:
        """Declare the cursor once the scope's prefix is in force."""
        pending = _pending(self._conn)
        if pending is not None:
            scope, prefix = pending
            try:
                async with self._conn.pipeline():
                    await _send(self._conn, prefix)
            finally:
                scope.sent()
        await super().execute(query, params, binary=binary, **kwargs)
        return self


def bind(conn: Any, tenant: str | None, *, system: bool = False) -> None:
    """Make the statements of SQLAlchemy connection ``conn`` run for ``tenant`` (or,
    with ``system``, across tenants); nothing on a connection without a scope."""
    sync = conn.sync_connection
    if sync is None:
        return
    scope = scope_of(sync.connection.driver_connection)
    if scope is not None:
        scope.bind(tenant, system=system)
