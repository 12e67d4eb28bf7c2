"""Alembic environment of the manage database: its own metadata, version table and history.

Target metadata: every table of agentfold_core.db.manage.schema (with the naming
convention of agentfold_core.db.base). Version table: alembic_version_manage.
Run it through `agentfold db ... --db manage`; see migrations/README.md.
"""

from agentfold_core.migrations.environment import run_environment
from agentfold_core.migrations.spec import spec_for

spec = spec_for("manage")
target_metadata = spec.metadata

run_environment(spec)
