"""Exact amounts (cost, credits) as JSON shows them: decimal strings in fixed-point
notation, never floats and never exponents (``0.000000000``, not ``0E-9``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import PlainSerializer


def fixed_point(amount: Decimal) -> str:
    """``amount`` as a plain decimal string (``format(amount, "f")``)."""
    return format(amount, "f")


# A Decimal that JSON shows in fixed-point notation (Python's ``str`` switches to an
# exponent for small or zero amounts of nine places: ``0E-9``, ``5.00E-7``).
Amount = Annotated[Decimal, PlainSerializer(fixed_point, return_type=str, when_used="json")]
