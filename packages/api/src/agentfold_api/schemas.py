"""Documented shapes of responses the core does not model (problems, issued keys)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from agentfold_core.data_access.runtime.usage import UsageRow

T = TypeVar("T")


class FieldProblem(BaseModel):
    """One failing field."""

    field: str
    message: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem document; ``code`` is stable, ``detail`` is for people."""

    type: str
    title: str
    status: int
    code: str
    detail: str
    errors: list[FieldProblem] | None = None
    resource: str | None = None
    key: dict[str, Any] | None = None
    conflicts: list[dict[str, Any]] | None = None
    key_id: str | None = None
    store: str | None = None


class PutSummary(BaseModel):
    """What a whole-document put changed: rows created, updated and deleted, by table."""

    created: dict[str, int]
    updated: dict[str, int]
    deleted: dict[str, int]


class Rows(BaseModel, Generic[T]):
    """Rows that come whole, without pages (a run tree)."""

    data: list[T]


UsageGroup = Literal["day", "project", "agent", "model", "provider"]


class UsageReport(BaseModel):
    """Usage from ``start`` up to ``end`` (exclusive), one row per group; days are UTC."""

    start: datetime
    end: datetime
    group_by: list[UsageGroup]
    data: list[UsageRow]
