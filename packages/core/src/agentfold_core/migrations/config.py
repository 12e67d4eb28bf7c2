"""Alembic configuration built in code: no ``alembic.ini`` is needed at run time."""

from __future__ import annotations

import io
from argparse import Namespace
from collections.abc import Mapping
from typing import Any

from alembic.config import Config
from alembic.script import ScriptDirectory

from agentfold_core.migrations.spec import EnvironmentSpec

# Keys of Config.attributes read by env.py (agentfold_core.migrations.environment).
CONNECTION = "agentfold_connection"
DIALECT = "agentfold_dialect"
ON_STEP = "agentfold_on_step"

FILE_TEMPLATE = "%%(rev)s_%%(slug)s"


def build_config(
    spec: EnvironmentSpec,
    *,
    output: io.StringIO | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Config:
    """An Alembic ``Config`` for ``spec``'s environment, carrying ``attributes`` to env.py."""
    # quiet: agentfold prints its own report instead of Alembic's status lines.
    config = Config(output_buffer=output, cmd_opts=Namespace(quiet=True))
    config.set_main_option("script_location", str(spec.script_location))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", FILE_TEMPLATE)
    config.set_main_option("truncate_slug_length", "40")
    config.attributes["agentfold_role"] = spec.role
    config.attributes.update(attributes or {})
    return config


def script_directory(spec: EnvironmentSpec) -> ScriptDirectory:
    """The revision scripts of ``spec``'s environment."""
    return ScriptDirectory.from_config(build_config(spec))
