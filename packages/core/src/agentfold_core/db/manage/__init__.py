"""The versioned manage database schema."""

from agentfold_core.db.manage import schema as schema
