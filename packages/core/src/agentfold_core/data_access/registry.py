"""Every entity of both databases, listed once.

Tests, the API's route factory and versioning's walks over "every entity" read this
registry: its database, scope level, names, URL path segment, ``Entity`` and public
functions. Adding a table means declaring its ``Entity`` in its module and listing it
here; a test fails until both are done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from agentfold_core.data_access.crud import Entity
from agentfold_core.data_access.doors import Db
from agentfold_core.data_access.manage import (
    agents,
    components,
    credentials,
    projects,
    skills,
    sub_agent_links,
    tools,
    triggers,
)
from agentfold_core.data_access.runtime import (
    api_keys,
    audit_events,
    calls,
    conversations,
    credential_secrets,
    credits,
    project_metadata,
    runs,
    tasks,
    tenants,
    trigger_invocations,
)
from agentfold_core.db.base import manage_metadata
from agentfold_core.db.columns import ScopeLevel
from agentfold_core.db.engine import DatabaseRole

OPERATIONS = ("get", "list", "create", "update", "upsert", "delete")
CRUD = frozenset(OPERATIONS)
Curried = Callable[[Db], Any]


@dataclass(frozen=True)
class Registered:
    """One entity with what callers need to find and use it."""

    entity: Entity[Any]
    # The operations callers may use; others are reserved to a dedicated function
    # (a project is created in both databases; an API key is issued, not created).
    operations: frozenset[str] = CRUD
    # Public functions that replace the entity's own operation (same signature).
    overrides: Mapping[str, Curried] = field(default_factory=dict)

    @property
    def database(self) -> DatabaseRole:
        """Which database holds the entity."""
        return "manage" if self.entity.table.metadata is manage_metadata else "runtime"

    @property
    def level(self) -> ScopeLevel:
        """The scope level of the entity's rows."""
        return self.entity.traits.level

    @property
    def singular(self) -> str:
        """Singular name (``sub_agent``): ``get_<singular>``."""
        return self.entity.label

    @property
    def plural(self) -> str:
        """Plural name (``sub_agents``): ``list_<plural>``."""
        return self.entity.plural

    @property
    def path(self) -> str:
        """URL path segment (``sub-agents``)."""
        return self.entity.path

    @property
    def table(self) -> str:
        """The table name."""
        return self.entity.traits.name

    def public_name(self, operation: str) -> str:
        """The module-level name of ``operation`` (``list_sub_agents``)."""
        return f"list_{self.plural}" if operation == "list" else f"{operation}_{self.singular}"

    def function(self, operation: str) -> Curried:
        """The public curried function of ``operation``."""
        if operation not in self.operations:
            raise KeyError(f"{self.singular} has no public {operation}")
        override = self.overrides.get(operation)
        return override if override is not None else getattr(self.entity, operation)

    def functions(self) -> dict[str, Curried]:
        """Every public operation by name."""
        return {op: self.function(op) for op in OPERATIONS if op in self.operations}


class Registry:
    """The entities of both databases, by table and by path segment."""

    def __init__(self, entries: tuple[Registered, ...]) -> None:
        self.entries = entries
        self.by_table = MappingProxyType({e.table: e for e in entries})
        if len(self.by_table) != len(entries):
            raise ValueError("an entity is registered twice")

    def __iter__(self) -> Iterator[Registered]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def table(self, name: str) -> Registered:
        """The entry of table ``name``."""
        return self.by_table[name]

    def of(self, entity: Entity[Any]) -> Registered:
        """The entry of ``entity``."""
        return self.by_table[entity.traits.name]

    def in_database(self, database: DatabaseRole) -> tuple[Registered, ...]:
        """The entries of one database."""
        return tuple(e for e in self.entries if e.database == database)


REGISTRY = Registry(
    (
        # manage
        Registered(projects.PROJECTS, operations=frozenset({"get", "list", "update"})),
        Registered(agents.AGENTS),
        Registered(agents.SUB_AGENTS),
        Registered(agents.SUB_AGENT_RELATIONS),
        Registered(agents.CONTEXT_CONFIGS),
        Registered(credentials.CREDENTIAL_REFERENCES),
        Registered(tools.TOOLS),
        Registered(tools.FUNCTIONS),
        Registered(tools.FUNCTION_TOOLS),
        Registered(tools.EXTERNAL_AGENTS),
        Registered(components.DATA_COMPONENTS),
        Registered(components.ARTIFACT_COMPONENTS),
        Registered(skills.SKILLS),
        Registered(skills.SKILL_FILES),
        Registered(triggers.TRIGGERS),
        Registered(sub_agent_links.SUB_AGENT_TOOLS),
        Registered(sub_agent_links.SUB_AGENT_FUNCTION_TOOLS),
        Registered(sub_agent_links.SUB_AGENT_EXTERNAL_AGENTS),
        Registered(sub_agent_links.SUB_AGENT_TEAM_AGENTS),
        Registered(sub_agent_links.SUB_AGENT_DATA_COMPONENTS),
        Registered(sub_agent_links.SUB_AGENT_ARTIFACT_COMPONENTS),
        Registered(sub_agent_links.SUB_AGENT_SKILLS),
        # runtime
        Registered(
            tenants.TENANTS, operations=frozenset({"get", "create", "update", "upsert", "delete"})
        ),
        Registered(project_metadata.PROJECT_METADATA, operations=frozenset({"get", "update"})),
        Registered(
            api_keys.API_KEYS,
            operations=frozenset({"get", "list", "update", "delete"}),
            overrides={
                "get": api_keys.get_api_key,
                "list": api_keys.list_api_keys,
                "update": api_keys.update_api_key,
                "delete": api_keys.delete_api_key,
            },
        ),
        # Secrets are written only through the encrypted credential store (which seals
        # them); reads never return their envelope.
        Registered(
            credential_secrets.CREDENTIAL_SECRETS,
            operations=frozenset({"get", "list", "delete"}),
            overrides={
                "get": credential_secrets.get_credential_secret,
                "list": credential_secrets.list_credential_secrets,
            },
        ),
        Registered(conversations.CONVERSATIONS),
        Registered(conversations.MESSAGES),
        Registered(conversations.CONTEXT_CACHE),
        Registered(conversations.EVENTS),
        Registered(conversations.FEEDBACK),
        Registered(tasks.TASKS),
        Registered(tasks.TASK_RELATIONS),
        Registered(tasks.LEDGER_ARTIFACTS),
        Registered(trigger_invocations.TRIGGER_INVOCATIONS),
        # run records: runs start through start_run and LLM calls are recorded through
        # record_llm_call (both derive columns); the credit tables change only through
        # grant_credits / consume_credits.
        Registered(
            runs.RUNS,
            operations=frozenset({"get", "list", "create", "delete"}),
            overrides={"create": runs.start_run},
        ),
        Registered(runs.STEPS),
        Registered(
            calls.LLM_CALLS,
            operations=frozenset({"get", "list", "create", "delete"}),
            overrides={"create": calls.record_llm_call},
        ),
        Registered(calls.TOOL_CALLS),
        Registered(credits.CREDIT_GRANTS, operations=frozenset({"get", "list"})),
        Registered(credits.CREDIT_LEDGER, operations=frozenset({"get", "list"})),
        # The audit log is appended to by record_audit_event only (in the transaction of
        # the change it records) and never changed; its list filters by time too.
        Registered(
            audit_events.AUDIT_EVENTS,
            operations=frozenset({"get", "list"}),
            overrides={"list": audit_events.list_audit_events},
        ),
    )
)
