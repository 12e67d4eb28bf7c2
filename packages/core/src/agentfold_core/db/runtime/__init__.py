"""The runtime database schema."""

from agentfold_core.db.runtime import schema as schema
