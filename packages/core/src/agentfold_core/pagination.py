"""Paginated results shared by every ``list_*`` function."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

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
