"""Finding the migration scripts: inside the installed wheel, or in the source tree."""

from __future__ import annotations

from pathlib import Path

from agentfold_core.errors import ConfigurationError

_PACKAGE = Path(__file__).resolve().parent.parent
# The wheel carries the environments here (see packages/core/hatch_build.py).
PACKAGED_ROOT = _PACKAGE / "_migrations"
# In a checkout: <root>/packages/core/src/agentfold_core -> <root>/migrations.
SOURCE_ROOT = _PACKAGE.parents[3] / "migrations"


def migrations_root() -> Path:
    """The folder holding one Alembic environment per database."""
    for root in (PACKAGED_ROOT, SOURCE_ROOT):
        if (root / "manage" / "env.py").is_file():
            return root
    raise ConfigurationError(
        "agentfold migration scripts not found; reinstall agentfold-core",
        searched=[str(PACKAGED_ROOT), str(SOURCE_ROOT)],
    )


def script_location(role: str) -> Path:
    """The Alembic environment folder of ``role``."""
    return migrations_root() / role


def is_source_tree() -> bool:
    """Whether the scripts in use are the editable ones of a checkout."""
    return migrations_root() == SOURCE_ROOT
