"""Cross-database reference check: runtime rows naming manage entities that do not
exist, and configuration without a project. Read-only; foreign keys cannot cover
these because they never cross databases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import RowMapping, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from agentfold_core.data_access.crud import Entity
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


# Configuration is keyed by tenant, project and branch first.
_SCOPE = ("tenant_id", "project_id", "branch")


@dataclass(frozen=True, slots=True)
class _Reference:
    """One kind of runtime row naming manage configuration, and how it is checked.

    A row names the ``manage`` row keyed by its tenant, project and branch, then by its
    ``names`` columns (in the order of the manage primary key after the branch). The
    branch is the row's ``ref`` when ``follows_ref`` and it has one, else the project's
    main branch. A row whose ``names`` hold a null names nothing. ``problem`` is
    formatted with the row's columns and ``branch``.
    """

    runtime: Entity[Any]
    names: tuple[str, ...]
    manage: Entity[Any]
    problem: str
    follows_ref: bool = True

    def __post_init__(self) -> None:
        key = self.manage.key_columns
        if key[: len(_SCOPE)] != _SCOPE or len(key) != len(_SCOPE) + len(self.names):
            raise TypeError(
                f"{self.runtime.table.name}: {self.names} do not key {self.manage.table.name}"
            )

    @property
    def columns(self) -> tuple[str, ...]:
        """The runtime columns the check reads."""
        ref = ("ref",) if self.follows_ref else ()
        return ("tenant_id", "project_id", "id", *self.names, *ref)


_REFERENCES = (
    _Reference(CONVERSATIONS, ("agent_id",), AGENTS, "agent {agent_id!r} not on branch {branch!r}"),
    _Reference(
        TASKS,
        ("agent_id", "sub_agent_id"),
        SUB_AGENTS,
        "sub-agent {sub_agent_id!r} of agent {agent_id!r} not on branch {branch!r}",
    ),
    _Reference(
        TRIGGER_INVOCATIONS,
        ("agent_id", "trigger_id"),
        TRIGGERS,
        "trigger {trigger_id!r} not on branch {branch!r}",
    ),
    # An API key has no ref: it works on the project's main branch.
    _Reference(
        API_KEYS,
        ("agent_id",),
        AGENTS,
        "bound to agent {agent_id!r}, not on branch {branch!r}",
        follows_ref=False,
    ),
)


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
    configuration: dict[str, set[Key]] = {}
    async with reading_system(manage, snapshot=True) as access:
        conn = access.conn
        projects = await _keys(conn, PROJECTS.table, ("tenant_id", "id", "branch"), tenant_id)
        for reference in _REFERENCES:
            target = reference.manage
            if target.table.name not in configuration:
                configuration[target.table.name] = await _keys(
                    conn, target.table, target.key_columns, tenant_id
                )

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

        for reference in _REFERENCES:
            existing = configuration[reference.manage.table.name]
            table = reference.runtime.table
            async for row in _rows(conn, table, reference.columns, tenant_id):
                names = tuple(row[c] for c in reference.names)
                if None in names:
                    continue
                branch = _branch(row, main)
                if (row["tenant_id"], row["project_id"], branch, *names) not in existing:
                    problem = reference.problem.format(**row, branch=branch)
                    orphans.append(_orphan(table.name, row, problem))

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
