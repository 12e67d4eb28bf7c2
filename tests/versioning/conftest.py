"""Fixtures of the version-control tests: ``agentfold`` run in-process (shared with the
migration tests)."""

from tests.migrations.conftest import agentfold

__all__ = ["agentfold"]
