"""What the migration commands report back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from agentfold_core.migrations.spec import Role

Direction = Literal["upgrade", "downgrade"]


@dataclass(frozen=True, slots=True)
class RevisionInfo:
    """One revision script of an environment."""

    revision: str
    down_revisions: tuple[str, ...]
    message: str
    is_head: bool
    path: str
    create_date: str | None = None


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """A revision a run is about to apply or revert."""

    revision: str
    message: str
    direction: Direction


@dataclass(frozen=True, slots=True)
class AppliedStep:
    """A revision a run applied or reverted, and how long it took."""

    revision: str
    message: str
    direction: Direction
    seconds: float


@dataclass(frozen=True, slots=True)
class MigrationResult:
    """One upgrade or downgrade of one database."""

    role: Role
    direction: Direction
    from_revisions: tuple[str, ...]
    to_revisions: tuple[str, ...]
    steps: tuple[AppliedStep, ...]
    seconds: float
    # Manage upgrades: the commits that re-hashed branch heads after the schema change.
    commits: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CurrentState:
    """Where a database stands in its history."""

    role: Role
    exists: bool
    revisions: tuple[str, ...]
    heads: tuple[str, ...]
    messages: dict[str, str] = field(default_factory=dict)

    @property
    def at_head(self) -> bool:
        """Whether every head is applied and nothing else is."""
        return set(self.revisions) == set(self.heads)


class MigrationObserver:
    """Receives the progress of migration runs; every method does nothing by default."""

    def waiting(self, role: Role, message: str) -> None:
        """The run waits for another process's migration lock."""

    def planned(self, role: Role, steps: tuple[PlannedStep, ...]) -> None:
        """The run holds the lock and is about to take ``steps``."""

    def step_done(self, role: Role, index: int, step: AppliedStep) -> None:
        """Step ``index`` (from 1) of the plan is done."""
