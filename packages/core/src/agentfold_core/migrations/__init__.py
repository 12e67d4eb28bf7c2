"""Programmatic Alembic for both databases: one environment and history per database.

The environments live in ``migrations/manage`` and ``migrations/runtime`` of a
checkout and ship inside the wheel; every call here builds the Alembic configuration
in code, so no ``alembic.ini`` is needed.
"""

from agentfold_core.migrations.capture import repair_capture_triggers
from agentfold_core.migrations.commands import current, downgrade, offline_sql, upgrade
from agentfold_core.migrations.drift import DriftReport, check
from agentfold_core.migrations.errors import MigrationError, SchemaNotReady
from agentfold_core.migrations.history import revisions
from agentfold_core.migrations.locate import migrations_root
from agentfold_core.migrations.results import (
    AppliedStep,
    CurrentState,
    MigrationObserver,
    MigrationResult,
    PlannedStep,
    RevisionInfo,
)
from agentfold_core.migrations.revision import create_revision
from agentfold_core.migrations.spec import ROLES, Role, spec_for
from agentfold_core.migrations.verify import (
    SchemaReport,
    VerifyMode,
    inspect_schema,
    verify_schema,
)

__all__ = [
    "ROLES",
    "AppliedStep",
    "CurrentState",
    "DriftReport",
    "MigrationError",
    "MigrationObserver",
    "MigrationResult",
    "PlannedStep",
    "RevisionInfo",
    "Role",
    "SchemaNotReady",
    "SchemaReport",
    "VerifyMode",
    "check",
    "create_revision",
    "current",
    "downgrade",
    "inspect_schema",
    "migrations_root",
    "offline_sql",
    "repair_capture_triggers",
    "revisions",
    "spec_for",
    "upgrade",
    "verify_schema",
]
