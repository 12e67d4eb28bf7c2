"""The body of both ``env.py`` files: offline SQL, or online on a connection agentfold opened.

Online runs always come through ``agentfold_core.migrations`` (the ``agentfold db``
command or the library calls), which open the async engine, take the migration lock
and hand the connection over in ``Config.attributes``; that keeps the whole run in one
transaction and lets callers already inside an event loop migrate.
"""

from __future__ import annotations

from alembic import context

from agentfold_core.errors import ConfigurationError
from agentfold_core.migrations.autogen import context_options
from agentfold_core.migrations.config import CONNECTION, DIALECT, ON_STEP
from agentfold_core.migrations.spec import EnvironmentSpec


def run_environment(spec: EnvironmentSpec) -> None:
    """Configure Alembic for ``spec`` and run the requested migrations.

    ``alembic.context`` is the module Alembic binds to the running environment while
    it executes ``env.py``; its functions are typed by Alembic's stub, which a module
    passed in as an argument would not be.
    """
    attributes = context.config.attributes
    metadata = spec.metadata
    if context.is_offline_mode():
        dialect = attributes.get(DIALECT) or "postgresql"
        context.configure(
            dialect_name=dialect, literal_binds=True, **context_options(spec, metadata, dialect)
        )
    else:
        connection = attributes.get(CONNECTION)
        if connection is None:
            raise ConfigurationError(
                "the agentfold migration environments run through `agentfold db` or "
                "agentfold_core.migrations, which hold the migration lock"
            )
        context.configure(
            connection=connection,
            on_version_apply=attributes.get(ON_STEP),
            **context_options(spec, metadata, connection.dialect.name),
        )
    with context.begin_transaction():
        context.run_migrations()
