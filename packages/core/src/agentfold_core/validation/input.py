"""Input validation against generated models, and the one converter of pydantic errors
into ``ValidationFailed`` (every entry has ``field``, ``message`` and ``type``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from agentfold_core.errors import ValidationFailed, field_error

Data = Mapping[str, Any] | BaseModel
ModelT = TypeVar("ModelT", bound=BaseModel)


def validation_failed(
    exc: PydanticValidationError, resource: str, *, message: str | None = None, prefix: str = ""
) -> ValidationFailed:
    """A domain error listing each failing field of a pydantic error (under ``prefix``)."""
    errors = [
        field_error(
            ".".join(str(p) for p in (*((prefix,) if prefix else ()), *e["loc"])),
            e["msg"],
            e["type"],
        )
        for e in exc.errors(include_url=False, include_input=False)
    ]
    return ValidationFailed(message or f"invalid {resource}", errors=errors, resource=resource)


def validate_input(model: type[ModelT], data: Data, resource: str) -> ModelT:
    """Validate ``data`` against an input model, raising ``ValidationFailed``."""
    if isinstance(data, model):
        return data
    raw = data.model_dump(exclude_unset=True) if isinstance(data, BaseModel) else data
    try:
        return model.model_validate(raw)
    except PydanticValidationError as exc:
        raise validation_failed(exc, resource) from exc
