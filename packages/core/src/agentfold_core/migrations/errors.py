"""Errors of the migration commands."""

from __future__ import annotations

from agentfold_core.errors import AgentfoldError


class MigrationError(AgentfoldError):
    """A migration command could not do what was asked (bad target, broken history...)."""

    code = "migration_error"


class SchemaNotReady(MigrationError):
    """``verify_schema`` in strict mode: the database does not match this version's models."""

    code = "schema_not_ready"
