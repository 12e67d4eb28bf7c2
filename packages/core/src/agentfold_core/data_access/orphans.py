"""Cross-database reference check: runtime rows naming manage entities that do not
exist, and configuration without a project. Read-only; foreign keys cannot cover
these because they never cross databases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import RowMapping, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from agentfold_core.data_access.doors import reading_system
from agentfold_core.data_access.manage.agents import AGENTS, SUB_AGENTS
from agentfold_core.data_access.manage.projects import PROJECTS
from agentfold_core.data_access.manage.triggers import TRIGGERS
from agentfold_core.data_access.runtime.api_keys import API_KEYS
from agentfold_core.data_access.runtime.conversations import CONVERSATIONS
from agentfold_core.data_access.runtime.project_metadata import PROJECT_METADATA
from agentfold_core.data_access.runtime.tasks import TASKS
from agentfold_core.data_access.runtime.trigger_invocations import TRIGGER_INVOCATIONS
from agentfold_core.db.engine import Database

Key = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Orphan:
    """A row naming something the other database does not have."""

    database: str
    table: str
    key: dict[str, Any]
    problem: str

    def describe(self) -> str:
        """One line for people: where the row is and what it lacks."""
        key = ", ".join(f"{k}={v}" for k, v in self.key.items())
        return f"{self.database}.{self.table} ({key}): {self.problem}"


async def _rows(
    conn: AsyncConnection, table: Table, columns: tuple[str, ...], tenant_id: str | None
) -> AsyncIterator[RowMapping]:
    stmt = select(*(table.c[c] for c in columns))
    if tenant_id is not None:
        stmt = stmt.where(table.c.tenant_id == tenant_id)
    # Streaming keeps memory flat on big runtime tables.
    async for row in (await conn.stream(stmt)).mappings():
        yield row


async def _keys(
    conn: AsyncConnection, table: Table, columns: tuple[str, ...], tenant_id: str | None
) -> set[Key]:
    return {tuple(r[c] for c in columns) async for r in _rows(conn, table, columns, tenant_id)}


def _branch(row: Mapping[Any, Any], main: Mapping[Key, str]) -> str:
    # A row that ran against a ref is checked on that branch, else on the main branch.
    ref = row.get("ref")
    if isinstance(ref, Mapping) and isinstance(ref.get("branch"), str):
        return str(ref["branch"])
    return main.get((row["tenant_id"], row["project_id"]), "main")


async def find_orphans(
    manage: Database, runtime: Database, *, tenant_id: str | None = None
) -> list[Orphan]:
    """Every cross-database reference that points at nothing (optionally one tenant's)."""
    scope = ("tenant_id", "project_id", "branch")
    async with reading_system(manage, snapshot=True) as access:
        conn = access.conn
        projects = await _keys(conn, PROJECTS.table, ("tenant_id", "id", "branch"), tenant_id)
        agents = await _keys(conn, AGENTS.table, (*scope, "id"), tenant_id)
        sub_agents = await _keys(conn, SUB_AGENTS.table, (*scope, "agent_id", "id"), tenant_id)
        triggers = await _keys(conn, TRIGGERS.table, (*scope, "agent_id", "id"), tenant_id)

    orphans: list[Orphan] = []
    async with reading_system(runtime, snapshot=True) as access:
        conn = access.conn
        metadata = PROJECT_METADATA.table
        main: dict[Key, str] = {}
        async for row in _rows(conn, metadata, ("tenant_id", "id", "main_branch_name"), tenant_id):
            main[(row["tenant_id"], row["id"])] = row["main_branch_name"]
            if (row["tenant_id"], row["id"], row["main_branch_name"]) not in projects:
                orphans.append(
                    Orphan("runtime", "project_metadata", dict(row), "no manage configuration")
                )

        async for row in _rows(
            conn,
            CONVERSATIONS.table,
            ("tenant_id", "project_id", "id", "agent_id", "ref"),
            tenant_id,
        ):
            branch = _branch(row, main)
            if (row["tenant_id"], row["project_id"], branch, row["agent_id"]) not in agents:
                orphans.append(
                    _orphan(
                        "conversations", row, f"agent {row['agent_id']!r} not on branch {branch!r}"
                    )
                )

        async for row in _rows(
            conn,
            TASKS.table,
            ("tenant_id", "project_id", "id", "agent_id", "sub_agent_id", "ref"),
            tenant_id,
        ):
            branch = _branch(row, main)
            key = (
                row["tenant_id"],
                row["project_id"],
                branch,
                row["agent_id"],
                row["sub_agent_id"],
            )
            if row["agent_id"] is not None and key not in sub_agents:
                orphans.append(
                    _orphan(
                        "tasks",
                        row,
                        f"sub-agent {row['sub_agent_id']!r} of "
                        f"agent {row['agent_id']!r} not on branch {branch!r}",
                    )
                )

        async for row in _rows(
            conn,
            TRIGGER_INVOCATIONS.table,
            ("tenant_id", "project_id", "agent_id", "id", "trigger_id", "ref"),
            tenant_id,
        ):
            branch = _branch(row, main)
            key = (row["tenant_id"], row["project_id"], branch, row["agent_id"], row["trigger_id"])
            if key not in triggers:
                orphans.append(
                    _orphan(
                        "trigger_invocations",
                        row,
                        f"trigger {row['trigger_id']!r} not on branch {branch!r}",
                    )
                )

        async for row in _rows(
            conn, API_KEYS.table, ("tenant_id", "id", "project_id", "agent_id"), tenant_id
        ):
            branch = main.get((row["tenant_id"], row["project_id"]), "main")
            agent_key = (row["tenant_id"], row["project_id"], branch, row["agent_id"])
            if row["agent_id"] is not None and agent_key not in agents:
                orphans.append(
                    _orphan(
                        "api_keys",
                        row,
                        f"bound to agent {row['agent_id']!r}, not on branch {branch!r}",
                    )
                )

    for tenant, project, branch in sorted(projects):
        if (tenant, project) not in main:
            orphans.append(
                Orphan(
                    "manage",
                    "projects",
                    {"tenant_id": tenant, "id": project, "branch": branch},
                    "no runtime project (project_metadata)",
                )
            )
    return orphans


def _orphan(table: str, row: Mapping[Any, Any], problem: str) -> Orphan:
    key = {c: row[c] for c in ("tenant_id", "project_id", "agent_id", "id") if c in row}
    return Orphan("runtime", table, key, problem)
