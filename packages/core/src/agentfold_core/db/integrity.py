"""Translation of driver errors into domain errors, for both backends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from agentfold_core.errors import (
    Conflict,
    FieldError,
    InvalidReference,
    ValidationFailed,
    field_error,
)

# PostgreSQL SQLSTATE codes.
_UNIQUE, _FOREIGN_KEY, _NOT_NULL, _CHECK = "23505", "23503", "23502", "23514"
_TOO_LONG, _BAD_TEXT = "22001", "22P02"
_SQLITE_NOT_NULL = "NOT NULL constraint failed:"


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)


def _constraint(exc: DBAPIError) -> str | None:
    diag = getattr(exc.orig, "diag", None)
    return getattr(diag, "constraint_name", None)


def _field_error(exc: DBAPIError, state: str | None, text: str, summary: str) -> FieldError:
    """The one entry a driver error gives: the column when the driver names it."""
    if state == _NOT_NULL or _SQLITE_NOT_NULL in text:
        # PostgreSQL names the column in its diagnostics; SQLite says "...: table.column".
        column = getattr(getattr(exc.orig, "diag", None), "column_name", None)
        if not column and _SQLITE_NOT_NULL in text:
            column = text.split(_SQLITE_NOT_NULL, 1)[1].split()[0].rpartition(".")[2]
        return field_error(column or "", "must not be null", "not_null")
    return field_error("", summary, "database")


def classify(exc: DBAPIError, *, resource: str, key: dict[str, Any]) -> Exception | None:
    """The domain error for a driver error, or ``None`` when it is not the caller's fault."""
    state = _sqlstate(exc)
    text = str(exc.orig)
    context = {"resource": resource, "key": key, "constraint": _constraint(exc)}
    if state == _UNIQUE or "UNIQUE constraint failed" in text:
        return Conflict(f"{resource} already exists", **context)
    if state == _FOREIGN_KEY or "FOREIGN KEY constraint failed" in text:
        return InvalidReference(
            f"{resource} refers to a resource that does not exist in this scope", **context
        )
    # DataError: a value the column cannot hold (SQLSTATE class 22; psycopg also raises
    # it client side, without a SQLSTATE, for a NUL character in text).
    if (
        state in (_NOT_NULL, _CHECK, _TOO_LONG, _BAD_TEXT)
        or isinstance(exc, DataError)
        or _SQLITE_NOT_NULL in text
        or "CHECK constraint failed" in text
    ):
        summary = (text.splitlines() or ["the database refused the value"])[0]
        return ValidationFailed(
            f"{resource} is not valid: {summary}",
            errors=[_field_error(exc, state, text, summary)],
            **context,
        )
    return None


@contextmanager
def domain_errors(resource: str, key: dict[str, Any]) -> Iterator[None]:
    """Re-raise integrity and data errors from the driver as domain errors."""
    try:
        yield
    except (IntegrityError, DBAPIError) as exc:
        translated = classify(exc, resource=resource, key=key)
        if translated is None:
            raise
        raise translated from exc
