"""Domain errors raised by the data layer; the API maps each to an HTTP problem."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class AgentfoldError(Exception):
    """Base of every error agentfold raises on purpose."""

    code = "error"

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context: dict[str, Any] = context

    def __str__(self) -> str:
        return self.message


class NotFound(AgentfoldError):
    """The addressed resource does not exist in the given scope."""

    code = "not_found"


class Conflict(AgentfoldError):
    """The write collides with an existing row (duplicate key or unique value)."""

    code = "conflict"


class InvalidReference(AgentfoldError):
    """The write names a parent or related resource that does not exist."""

    code = "invalid_reference"


class FieldError(dict[str, Any]):
    """One failing field: ``{"field": "a.b", "message": "...", "type": "..."}``."""


class ValidationFailed(AgentfoldError):
    """Input did not pass validation; ``errors`` lists each failing field."""

    code = "validation_failed"

    def __init__(
        self, message: str, errors: Sequence[Mapping[str, Any]] = (), **context: Any
    ) -> None:
        super().__init__(message, **context)
        self.errors = [FieldError(e) for e in errors]


class InvalidRef(ValidationFailed):
    """A ref (branch name) is malformed or not writable."""

    code = "invalid_ref"


class ConfigurationError(AgentfoldError):
    """Settings are missing or malformed (for example an unsupported database URL)."""

    code = "configuration_error"
