"""Row-level security on PostgreSQL: a tenant's transaction sees and writes only its rows.

Defense in depth beneath the scoped data layer. Every tenant-scoped table (its key
starts with ``tenant_id``; ``tenants`` itself is keyed by its ``id``) has row-level
security enabled and forced (so its owner is subject too) and two policies:

- ``agentfold_tenant``, for every role: a row is visible and writable when its tenant
  column equals the transaction-local setting ``agentfold.tenant_id``, which the doors
  set from the scope (``db.row_scope``). No tenant set, no rows.
- ``agentfold_system``, only for the role that ran the migration (the owner) and its
  members: every row, when ``agentfold.system`` is ``on``. Migrations, operator
  commands and the reads that precede a tenant (``reading_system``) use it. The
  application role may set the setting too, but the policy does not apply to it.

Superusers and roles with ``BYPASSRLS`` ignore every policy (``bypasses_row_security``
says so). SQLite has no row-level security: there the scoped data layer stands alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, MetaData, Table, inspect, text

from agentfold_core.db.row_scope import SYSTEM_SETTING, TENANT_SETTING

TENANT_POLICY = "agentfold_tenant"
SYSTEM_POLICY = "agentfold_system"
# Tables whose rows are tenants themselves: the tenant is the key.
_TENANT_ROWS = {"tenants": "id"}


def tenant_column(table: Table) -> str | None:
    """The column naming a row's tenant, if ``table`` is tenant-scoped."""
    if table.name in _TENANT_ROWS:
        return _TENANT_ROWS[table.name]
    key = [column.name for column in table.primary_key.columns]
    return "tenant_id" if key and key[0] == "tenant_id" else None


def scoped_tables(metadata: MetaData) -> dict[str, str]:
    """Every tenant-scoped table of ``metadata`` and its tenant column, by name."""
    found = ((t.name, tenant_column(t)) for t in metadata.sorted_tables)
    return {name: column for name, column in found if column is not None}


def quoted(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def policy_sql(table: str, column: str = "tenant_id") -> list[str]:
    """The statements confining ``table`` to each transaction's tenant (idempotent)."""
    t = quoted(table)
    tenant = f"{quoted(column)} = current_setting('{TENANT_SETTING}', true)"
    system = f"current_setting('{SYSTEM_SETTING}', true) = 'on'"
    return [
        f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {TENANT_POLICY} ON {t}",
        f"CREATE POLICY {TENANT_POLICY} ON {t} USING ({tenant}) WITH CHECK ({tenant})",
        f"DROP POLICY IF EXISTS {SYSTEM_POLICY} ON {t}",
        f"CREATE POLICY {SYSTEM_POLICY} ON {t} TO CURRENT_USER "
        f"USING ({system}) WITH CHECK ({system})",
    ]


def drop_policy_sql(table: str) -> list[str]:
    """The statements removing ``table``'s policies and row-level security."""
    t = quoted(table)
    return [
        f"DROP POLICY IF EXISTS {TENANT_POLICY} ON {t}",
        f"DROP POLICY IF EXISTS {SYSTEM_POLICY} ON {t}",
        f"ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {t} DISABLE ROW LEVEL SECURITY",
    ]


def grant_sql(table: str, role: str) -> list[str]:
    """What the application role needs on a table: its rows, never its shape."""
    return [f"GRANT SELECT, INSERT, UPDATE, DELETE ON {quoted(table)} TO {quoted(role)}"]


@dataclass(frozen=True, slots=True)
class MissingPolicy:
    """A tenant-scoped table not confined to its tenant on PostgreSQL."""

    table: str
    problems: tuple[str, ...]

    def describe(self) -> str:
        """One line naming the table and what it lacks."""
        return f"row-level security of {self.table}: {', '.join(self.problems)}"


_STATE = text(
    "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
    "coalesce(array_agg(p.polname::text) FILTER (WHERE p.polname IS NOT NULL), '{}') "
    "FROM pg_class c LEFT JOIN pg_policy p ON p.polrelid = c.oid "
    "WHERE c.relkind = 'r' AND pg_table_is_visible(c.oid) GROUP BY c.oid, c.relname"
)


def missing_policies(connection: Connection, metadata: MetaData) -> list[MissingPolicy]:
    """The tenant-scoped tables of ``metadata`` present in a PostgreSQL database without
    row-level security enabled and forced, or without both policies (none on SQLite)."""
    if connection.dialect.name != "postgresql":
        return []
    present = set(inspect(connection).get_table_names())
    state = {
        str(name): (bool(enabled), bool(forced), set(policies))
        for name, enabled, forced, policies in connection.execute(_STATE)
    }
    found: list[MissingPolicy] = []
    for table in scoped_tables(metadata):
        if table not in present or table not in state:
            continue
        enabled, forced, policies = state[table]
        problems = [] if enabled else ["not enabled"]
        problems += [] if forced else ["not forced"]
        problems += [f"no policy {p}" for p in (TENANT_POLICY, SYSTEM_POLICY) if p not in policies]
        if problems:
            found.append(MissingPolicy(table, tuple(problems)))
    return found


def bypasses_row_security(connection: Connection) -> str | None:
    """Why the connection's role ignores every policy (superuser, ``BYPASSRLS``), if it
    does; ``None`` on SQLite or for a role the policies hold for."""
    if connection.dialect.name != "postgresql":
        return None
    row = connection.execute(
        text("SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
    ).first()
    if row is None or not (row.rolsuper or row.rolbypassrls):
        return None
    kind = "a superuser" if row.rolsuper else "a role with BYPASSRLS"
    return f"connected as {row.rolname}, {kind}: row-level security is not in force"
