"""Column declarations with their validation refinements, declared once and reused.

Each helper returns a SQLModel ``Field`` whose pydantic constraints become the
refinements of the generated validation models, and whose column ``info`` tells the
generator how the column is treated (server generated, secret, derived id).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator
from sqlalchemy import JSON, BigInteger, Column, String, Text
from sqlmodel import Field

from agentfold_core.db.limits import check_json_value, check_text_value
from agentfold_core.db.types import (
    AMOUNT_DIGITS,
    AMOUNT_SCALE,
    ExactDecimal,
    JSONContent,
    UTCDateTime,
    utcnow,
)
from agentfold_core.ids import ID_MAX_LENGTH, check_id
from agentfold_core.scopes import check_ref

SCOPE_LENGTH = 256
NAME_MAX_LENGTH = 256
PROMPT_MAX_LENGTH = 200_000

ResourceId = Annotated[str, AfterValidator(check_id)]
# A row's branch: a user branch, or the internal branch of a materialised tag or commit.
RefName = Annotated[str, AfterValidator(check_ref)]

# Refinements every column of a kind gets on input, whichever helper (or none) declared
# it: no NUL in text; bounded, portable JSON (db/limits.py says why and how much).
NO_NUL = AfterValidator(check_text_value)
BOUNDED_JSON = AfterValidator(check_json_value)


def column_refinements(column: Column[Any] | None) -> tuple[Any, ...]:
    """The refinements the validation generator adds to input fields of ``column``."""
    if column is None:
        return ()
    if isinstance(column.type, JSON):
        return (BOUNDED_JSON,)
    if isinstance(column.type, String):  # Text, VARCHAR, enums stored as strings
        return (NO_NUL,)
    return ()


# Keys of Column.info read by the validation generator.
SERVER_GENERATED = "server_generated"
SECRET = "secret"
DERIVED_ID = "derived_id"
IMMUTABLE = "immutable"


def scope_field() -> Any:
    """A scope column (tenant_id, project_id, agent_id, sub_agent_id): part of every key."""
    return Field(primary_key=True, max_length=SCOPE_LENGTH, sa_type=String(SCOPE_LENGTH))


def branch_field() -> Any:
    """The branch column of versioned manage tables."""
    return Field(primary_key=True, max_length=SCOPE_LENGTH, sa_type=String(SCOPE_LENGTH))


def id_field() -> Any:
    """A user-chosen resource id; generated when the caller gives none."""
    return Field(primary_key=True, max_length=ID_MAX_LENGTH, sa_type=String(ID_MAX_LENGTH))


def derived_id_field() -> Any:
    """A relation id derived from the natural key, never given by callers."""
    return Field(
        primary_key=True,
        max_length=32,
        sa_type=String(32),
        sa_column_kwargs={"info": {SERVER_GENERATED: True, DERIVED_ID: True}},
    )


def reference_field(*, required: bool = False, immutable: bool = False) -> Any:
    """A column naming another resource by id; ``immutable`` ones are set at creation only."""
    kwargs: dict[str, Any] = {"max_length": ID_MAX_LENGTH, "sa_type": String(ID_MAX_LENGTH)}
    if immutable:
        kwargs["sa_column_kwargs"] = {"info": {IMMUTABLE: True}}
    return Field(**kwargs) if required else Field(default=None, **kwargs)


def name_field(*, required: bool = True) -> Any:
    """A display name: 1..256 characters."""
    if required:
        return Field(min_length=1, max_length=NAME_MAX_LENGTH, sa_type=String(NAME_MAX_LENGTH))
    return Field(default=None, max_length=NAME_MAX_LENGTH, sa_type=String(NAME_MAX_LENGTH))


def text_field(*, max_length: int | None = None, required: bool = False) -> Any:
    """Free text, optionally bounded."""
    if required:
        return Field(max_length=max_length, sa_type=Text)
    return Field(default=None, max_length=max_length, sa_type=Text)


def string_field(
    max_length: int = NAME_MAX_LENGTH, *, default: Any = None, server_generated: bool = False
) -> Any:
    """A short string column (enums are typed with ``Literal`` on the annotation)."""
    info = {"info": {SERVER_GENERATED: True}} if server_generated else {}
    return Field(
        default=default, max_length=max_length, sa_type=String(max_length), sa_column_kwargs=info
    )


def json_field(*, default: Any = None, default_factory: Any = None) -> Any:
    """A JSON column (JSONB on PostgreSQL); its content type is the field annotation."""
    if default_factory is not None:
        return Field(default_factory=default_factory, sa_type=JSONContent)
    return Field(default=default, sa_type=JSONContent)


def timestamp_field(*, server_generated: bool = False, required: bool = False) -> Any:
    """A timezone-aware UTC timestamp."""
    info = {"info": {SERVER_GENERATED: True}} if server_generated else {}
    if server_generated:
        return Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs=info)
    if required:
        return Field(sa_type=UTCDateTime)
    return Field(default=None, sa_type=UTCDateTime)


def secret_field(max_length: int | None = 512) -> Any:
    """A secret (for example a key hash): stored, never exposed by API models;
    ``None`` for unbounded text (a ciphertext)."""
    return Field(
        max_length=max_length,
        sa_type=Text if max_length is None else String(max_length),
        sa_column_kwargs={"info": {SECRET: True, SERVER_GENERATED: True}},
    )


def amount_field(*, server_generated: bool = False, ge: int | None = None) -> Any:
    """An exact decimal amount (cost, credits), zero unless given; never a float."""
    info = {"info": {SERVER_GENERATED: True}} if server_generated else {}
    return Field(
        default=Decimal(0),
        max_digits=AMOUNT_DIGITS,
        decimal_places=AMOUNT_SCALE,
        ge=ge,
        sa_type=ExactDecimal,
        sa_column_kwargs=info,
    )


def count_field(*, default: int | None = 0, server_generated: bool = False) -> Any:
    """A non-negative integer (tokens, milliseconds); ``None`` default makes it optional."""
    info = {"info": {SERVER_GENERATED: True}} if server_generated else {}
    return Field(default=default, ge=0, le=2**62, sa_type=BigInteger, sa_column_kwargs=info)
