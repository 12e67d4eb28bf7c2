"""Parsing the JSON text the databases hand back (row images, recorded rows, document
trees), the data layer's hottest decoding.

msgspec's decoder builds the same Python values as ``json.loads`` (dicts, lists, str,
int, float, bool, None) three to four times faster; the standard library's parser
takes over for anything msgspec refuses and ``json.loads`` accepts (``NaN``,
``Infinity``), so the result never depends on which one ran.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

_DECODER = msgspec.json.Decoder()


def loads(text: str | bytes) -> Any:
    """The Python value of one JSON document."""
    try:
        return _DECODER.decode(text)
    except msgspec.DecodeError:
        return json.loads(text)
