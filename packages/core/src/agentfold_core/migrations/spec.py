"""What distinguishes the two migration environments: metadata, version table, lock key."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from sqlalchemy import MetaData

# Importing the schema modules is what registers their tables on the metadata.
from agentfold_core.db.base import manage_metadata, runtime_metadata
from agentfold_core.db.manage import schema as _manage_schema  # noqa: F401
from agentfold_core.db.runtime import schema as _runtime_schema  # noqa: F401
from agentfold_core.migrations.locate import script_location

Role = Literal["manage", "runtime"]
ROLES: tuple[Role, ...] = get_args(Role)


def load_metadata(role: Role) -> MetaData:
    """The models' metadata of ``role``, with every table registered."""
    return manage_metadata if role == "manage" else runtime_metadata


@dataclass(frozen=True, slots=True)
class EnvironmentSpec:
    """One database's migration environment."""

    role: Role

    @property
    def version_table(self) -> str:
        """Where Alembic records the applied revision (tenant independent)."""
        return f"alembic_version_{self.role}"

    @property
    def lock_key(self) -> int:
        """The PostgreSQL advisory lock key that serialises upgrades of this database."""
        digest = hashlib.sha256(f"agentfold:migrate:{self.role}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    @property
    def script_location(self) -> Path:
        """The folder holding ``env.py`` and ``versions/``."""
        return script_location(self.role)

    @property
    def metadata(self) -> MetaData:
        """The models' metadata the migrations must reproduce."""
        return load_metadata(self.role)


def spec_for(role: str) -> EnvironmentSpec:
    """The environment of ``role`` ("manage" or "runtime")."""
    for known in ROLES:
        if role == known:
            return EnvironmentSpec(known)
    raise ValueError(f"unknown database {role!r}; expected one of {', '.join(ROLES)}")
