"""Bounds every stored value respects, so that it is stored alike on both backends.

- **No NUL character** in any string: PostgreSQL text and JSONB cannot hold one while
  SQLite can, and a project exported from SQLite must import into PostgreSQL.
- **JSON values** (whole column values, with every free-form value inside typed
  content) are at most ``JSON_MAX_DEPTH`` containers deep and at most
  ``JSON_MAX_BYTES`` of JSON text, and hold only finite numbers, valid Unicode
  strings (no lone surrogates) and values the JSON encoder knows.

Why these numbers:

- Depth 64: the JSON encoder (pydantic-core, used for every JSON column) gives up at
  255 levels, and a column value is itself nested inside project/agent documents and
  API envelopes, so the bound keeps well clear of it; MySQL, a planned backend, caps
  JSON documents at 100 levels. Real configuration (JSON Schemas, provider options,
  payloads) stays within a dozen levels, so 64 leaves ample room.
- 1 MiB per column value: five times the largest text column (a 200,000-character
  prompt) in ASCII, far above any configuration document, and small enough that one
  row never makes a request, an export or a page of rows pathological. Large payloads
  (files) belong in object storage, referenced by URL.
- Integers of at most 4,300 digits: Python (and so both drivers' JSON decoding)
  refuses to read longer ones back by default; such a value could be written, never
  read.

Cost: a value is encoded once (in Rust) and its text measured and scanned; only a
value that may break a bound (a ``\\u0000``, ``NaN`` or ``Infinity`` in its text,
more than 64 brackets, or an encoding error) is walked in Python, iteratively, to find
the place to name.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pydantic_core
from pydantic import BaseModel
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

JSON_MAX_DEPTH = 64
JSON_MAX_BYTES = 1024 * 1024
JSON_MAX_INT_DIGITS = 4300

NUL_CHARACTER = "nul_character"
JSON_TOO_DEEP = "json_too_deep"
JSON_TOO_LARGE = "json_too_large"
JSON_INVALID_NUMBER = "json_invalid_number"
JSON_INVALID_STRING = "json_invalid_string"
JSON_INVALID_VALUE = "json_invalid_value"

_NUL_MESSAGE = "must not contain a NUL character (\\x00)"
_INT_LIMIT = 10**JSON_MAX_INT_DIGITS
_INT_MESSAGE = f"an integer of more than {JSON_MAX_INT_DIGITS} digits"
_FINITE_MESSAGE = "not a finite number"
# Digits to "0", anything else to " ": a run of digits longer than the bound shows.
_DIGITS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_DIGITS = b"0" * (JSON_MAX_INT_DIGITS + 1)

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class JsonProblem:
    """Why a JSON value cannot be stored, and where (relative to the value)."""

    type: str
    message: str
    path: Path = ()


def json_problem(value: Any) -> JsonProblem | None:
    """The first reason ``value`` cannot be stored as a JSON column value, if any."""
    try:
        encoded = pydantic_core.to_json(value)
    except (pydantic_core.PydanticSerializationError, ValueError):
        # Too deep for the encoder, a lone surrogate, an unknown type, a huge integer.
        found = _walk(value, strings=True, numbers=True)
        return found or JsonProblem(JSON_INVALID_VALUE, "cannot be stored as JSON")
    if len(encoded) > JSON_MAX_BYTES:
        return JsonProblem(JSON_TOO_LARGE, f"JSON larger than {JSON_MAX_BYTES} bytes")
    strings = b"\\u0000" in encoded
    numbers = (
        b"NaN" in encoded  # not JSON: PostgreSQL refuses NaN and Infinity
        or b"Infinity" in encoded
        or (len(encoded) > JSON_MAX_INT_DIGITS and _LONG_DIGITS in encoded.translate(_DIGITS))
    )
    # Depth cannot exceed the number of opening brackets (some may sit inside strings).
    deep = (
        len(encoded) > 2 * JSON_MAX_DEPTH
        and encoded.count(b"{") + encoded.count(b"[") > JSON_MAX_DEPTH
        and _too_deep(value)
    )
    if strings or numbers or deep:
        return _walk(value, strings=strings, numbers=numbers)
    return None


def _too_deep(value: Any) -> bool:
    """Whether ``value`` nests more than ``JSON_MAX_DEPTH`` containers (fast, no path)."""
    if not _is_container(value):
        return False
    stack = [(value, 1)]
    while stack:
        container, depth = stack.pop()
        if depth > JSON_MAX_DEPTH:
            return True
        kind = type(container)
        if kind is dict:
            children: Iterable[Any] = container.values()
        elif kind is list:
            children = container
        else:
            children = (v for _, v in _items(container)[0])
        for child in children:
            kind = type(child)
            if (
                kind is dict
                or kind is list
                or (
                    kind is not str
                    and kind is not int
                    and kind is not float
                    and _is_container(child)
                )
            ):
                stack.append((child, depth + 1))
    return False


# A container being walked: (container, depth, parent entry, key in the parent).
_Entry = tuple[Any, int, Any, Any]


def _walk(value: Any, *, strings: bool, numbers: bool) -> JsonProblem | None:
    """Walk ``value`` (iteratively) for the first container too deep and, if asked,
    the first bad string or number; keys are strings."""
    stack: list[_Entry] = [([value], 0, None, None)]  # a root wrapping the value
    while stack:
        entry = stack.pop()
        container, depth = entry[0], entry[1]
        if depth > JSON_MAX_DEPTH:
            message = f"JSON nested more than {JSON_MAX_DEPTH} levels deep"
            return _problem(entry, None, JSON_TOO_DEEP, message, typed_only=True)
        items, keyed = _items(container)
        for key, item in items:
            if keyed and strings and isinstance(key, str):
                found = _string_problem(key)
                if found is not None:
                    return _problem(entry, None, found[0], f"a key {found[1]}")
            kind = type(item)
            if kind is dict or kind is list:
                stack.append((item, depth + 1, entry, key))
            elif kind is str:
                if strings and (found := _string_problem(item)) is not None:
                    return _problem(entry, key, *found)
            elif kind is int:
                if numbers and not -_INT_LIMIT < item < _INT_LIMIT:
                    return _problem(entry, key, JSON_INVALID_NUMBER, _INT_MESSAGE)
            elif kind is bool or item is None:
                pass
            elif kind is float:
                if numbers and not math.isfinite(item):
                    return _problem(entry, key, JSON_INVALID_NUMBER, _FINITE_MESSAGE)
            else:
                found = _other(item, strings=strings, numbers=numbers)
                if found is _CONTAINER:
                    stack.append((item, depth + 1, entry, key))
                elif found is not None:
                    return _problem(entry, key, *found)
    return None


_CONTAINER = ("", "")


def _items(container: Any) -> tuple[Iterable[tuple[Any, Any]], bool]:
    """The (key, value) pairs of a container, and whether it has keys."""
    if type(container) is dict:
        return container.items(), True
    if isinstance(container, BaseModel):
        extra = container.__pydantic_extra__
        fields = container.__dict__.items()
        return (fields if not extra else [*fields, *extra.items()]), True
    if isinstance(container, Mapping):
        return container.items(), True
    return enumerate(container), False


def _is_container(item: Any) -> bool:
    return isinstance(item, (BaseModel, Mapping, list, tuple, set, frozenset))


def _string_problem(value: str) -> tuple[str, str] | None:
    if "\x00" in value:
        return NUL_CHARACTER, _NUL_MESSAGE
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            return JSON_INVALID_STRING, "is not valid Unicode (a lone surrogate)"
    return None


def _other(item: Any, *, strings: bool, numbers: bool) -> tuple[str, str] | None:
    """Rarer values: ``_CONTAINER`` for a container to walk, else the problem, if any."""
    if _is_container(item):
        return _CONTAINER
    if isinstance(item, str):  # str enums
        return _string_problem(str(item)) if strings else None
    if isinstance(item, float):
        if numbers and not math.isfinite(item):
            return JSON_INVALID_NUMBER, _FINITE_MESSAGE
        return None
    if isinstance(item, int) and not isinstance(item, bool):  # int enums
        if numbers and not -_INT_LIMIT < item < _INT_LIMIT:
            return JSON_INVALID_NUMBER, _INT_MESSAGE
        return None
    # Anything else the JSON encoder knows (datetimes, UUIDs, decimals, big integers
    # within Python's conversion limit...) is stored as what it encodes to.
    try:
        encoded = pydantic_core.to_json(item)
    except (pydantic_core.PydanticSerializationError, ValueError):
        return JSON_INVALID_VALUE, f"a {type(item).__name__} that cannot be stored as JSON"
    if strings and b"\\u0000" in encoded.replace(b"\\\\", b""):
        return NUL_CHARACTER, _NUL_MESSAGE
    if numbers and (encoded in (b"NaN", b"Infinity", b"-Infinity")):
        return JSON_INVALID_NUMBER, _FINITE_MESSAGE
    return None


def _problem(
    entry: _Entry, key: Any, type_: str, message: str, *, typed_only: bool = False
) -> JsonProblem:
    """A problem at ``key`` of ``entry``'s container (``key`` ``None``: the container).

    ``typed_only`` cuts the path after the last attribute of typed content, so a value
    too deep is reported at the free-form field that holds it
    (``models.base.provider_options``), not at its 64th nested key.
    """
    steps: list[tuple[Any, Any]] = []  # (container, key) from the value down
    if key is not None:
        steps.append((entry[0], key))
    node = entry
    while node[2] is not None:
        steps.append((node[2][0], node[3]))
        node = node[2]
    steps.reverse()
    steps = steps[1:]  # the root wrapping the value
    if typed_only:
        last = max((i for i, (c, _) in enumerate(steps) if isinstance(c, BaseModel)), default=-1)
        steps = steps[: last + 1]
    return JsonProblem(type_, message, tuple(_path_key(c, k) for c, k in steps))


def _path_key(container: Any, key: Any) -> str | int:
    if isinstance(container, BaseModel):
        field = type(container).model_fields.get(key)
        if field is not None and field.alias:
            return field.alias
    return key if isinstance(key, int) and not isinstance(key, bool) else str(key)


# ------------------------------------------------------------------ pydantic validators


def _error(problem: JsonProblem) -> Exception:
    error = PydanticCustomError(problem.type, problem.message)
    if not problem.path:
        return error
    # Raised inside a validator, a ValidationError's locations extend the field's own,
    # so the error names the exact place (``models.base.provider_options``).
    details = InitErrorDetails(type=error, loc=problem.path, input=None)
    return ValidationError.from_exception_data("JSON value", [details])


def check_json_value(value: Any) -> Any:
    """Validator of every JSON column value: raise a pydantic error naming the place
    that breaks a bound of this module, else return ``value``."""
    if value is None:
        return None
    problem = json_problem(value)
    if problem is not None:
        raise _error(problem)
    return value


def check_text_value(value: Any) -> Any:
    """Validator of every text column value: no NUL character."""
    if isinstance(value, str) and "\x00" in value:
        raise PydanticCustomError(NUL_CHARACTER, _NUL_MESSAGE)
    return value
