"""Paginated results shared by every ``list_*`` function, and the cursors of keyset
pages (long conversations read by time)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

from agentfold_core.errors import ValidationFailed, field_error
from agentfold_core.ids import is_valid_id

T = TypeVar("T")

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
# Pages beyond this are refused: the offset must stay far inside a 64-bit integer.
MAX_PAGE = 1_000_000


class Pagination(BaseModel):
    """Where a page sits in the whole result."""

    page: int = Field(ge=1)
    limit: int = Field(ge=1, le=MAX_LIMIT)
    total: int = Field(ge=0)
    pages: int = Field(ge=0)


class Page(BaseModel, Generic[T]):
    """One page of rows plus its pagination."""

    data: list[T]
    pagination: Pagination


class CursorPage(BaseModel, Generic[T]):
    """Rows after a cursor, in order, and the opaque cursor of the rows that follow
    (``None`` once there are none)."""

    data: list[T]
    next_cursor: str | None


# A cursor is short; anything longer is not one of ours (checked before decoding).
_CURSOR_MAX_LENGTH = 512


def encode_cursor(created_at: datetime, row_id: str) -> str:
    """The opaque cursor of the position just after the row (``created_at``, ``row_id``)."""
    raw = json.dumps([created_at.astimezone(UTC).isoformat(), row_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, field: str = "after") -> tuple[datetime, str]:
    """The position a cursor of ``encode_cursor`` names; ``ValidationFailed`` naming
    ``field`` for anything else (it came from a client)."""
    try:
        if len(cursor) > _CURSOR_MAX_LENGTH:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = json.loads(raw)
        if not isinstance(position, list):
            raise TypeError("not a position")
        at, row_id = position
        created_at = datetime.fromisoformat(at)
        if created_at.tzinfo is None or not isinstance(row_id, str) or not is_valid_id(row_id):
            raise ValueError("not a position")
    except (ValueError, TypeError) as exc:
        message = "not a cursor this API returned"
        raise ValidationFailed(
            f"invalid {field}: {message}", errors=[field_error(field, message, "invalid_cursor")]
        ) from exc
    return created_at, row_id
