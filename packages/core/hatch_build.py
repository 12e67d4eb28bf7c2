"""Build hook: put both Alembic environments into the agentfold-core wheel and sdist.

The environments live at the repository root (``migrations/manage``,
``migrations/runtime``). A wheel built from the checkout takes them from there; an
sdist carries them as ``migrations/``, so a wheel built from the sdist finds them too.
In the wheel they become ``agentfold_core/_migrations``, where
``agentfold_core.migrations.locate`` looks first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

ROLES = ("manage", "runtime")


class MigrationsBuildHook(BuildHookInterface):
    """Force-include the migration environments."""

    PLUGIN_NAME = "custom"

    def _source(self) -> Path:
        root = Path(self.root)
        for candidate in (root.parent.parent / "migrations", root / "migrations"):
            if all((candidate / role / "env.py").is_file() for role in ROLES):
                return candidate
        raise FileNotFoundError(f"no migrations/manage and migrations/runtime near {root}")

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Map each environment into the artifact being built."""
        if version == "editable":
            return  # an editable install reads the checkout's migrations/ directly
        source = self._source()
        prefix = "agentfold_core/_migrations" if self.target_name == "wheel" else "migrations"
        for role in ROLES:
            build_data["force_include"][str(source / role)] = f"{prefix}/{role}"
