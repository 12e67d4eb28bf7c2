"""Alembic environment of the runtime database: its own metadata, version table and history.

Target metadata: every table of agentfold_core.db.runtime.schema (with the naming
convention of agentfold_core.db.base). Version table: alembic_version_runtime.
Run it through `agentfold db ... --db runtime`; see migrations/README.md.
"""

from agentfold_core.migrations.environment import run_environment
from agentfold_core.migrations.spec import spec_for

spec = spec_for("runtime")
target_metadata = spec.metadata

run_environment(spec)
