"""Column types shared by both databases."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Numeric
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

# JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
JSONContent: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both backends (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalise to UTC; a naive value is taken to be UTC already."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to values that come back naive."""
        if value is None:
            return None
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


# Exact amounts (costs, credits): 9 decimal places, so a single cached token priced at a
# few cents per million tokens is still exact; 18 digits in all.
AMOUNT_SCALE = 9
AMOUNT_DIGITS = 18


class ExactDecimal(TypeDecorator[Decimal]):
    """An exact decimal amount: NUMERIC on PostgreSQL, scaled integer on SQLite.

    SQLite has no decimal type (NUMERIC columns hold floats, and SUM over them rounds),
    so amounts are stored there as integers of 10^-9 units: sums stay exact in SQL on
    both backends, and a sum too large for 64 bits fails instead of rounding.
    """

    impl = Numeric(AMOUNT_DIGITS, AMOUNT_SCALE)
    cache_ok = True
    # Read by the revision renderer (migrations/autogen.py): the column's type per dialect.
    sqlite_impl = BigInteger()

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Integers on SQLite, NUMERIC elsewhere."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(self.sqlite_impl)
        return dialect.type_descriptor(Numeric(AMOUNT_DIGITS, AMOUNT_SCALE, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Scale to an integer on SQLite; refuse a value with more places than kept."""
        if value is None:
            return None
        amount = Decimal(value)
        units = amount.scaleb(AMOUNT_SCALE)
        if units != units.to_integral_value():
            raise ValueError(f"{amount} has more than {AMOUNT_SCALE} decimal places")
        if dialect.name == "sqlite":
            return int(units)
        return amount

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        """Converts scaled integers (SQLite) and numerics (psycopg already returns
        ``Decimal``) without the driver's numeric processor, which needs the column's
        type code and so fails for statements compiled ahead (``db/prepared.py``)."""
        return functools.partial(self.process_result_value, dialect=dialect)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """An exact ``Decimal`` with the type's scale."""
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-AMOUNT_SCALE)
        return Decimal(value)
