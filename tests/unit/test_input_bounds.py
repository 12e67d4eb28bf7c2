"""Bounds on stored values (db/limits.py): no NUL in any string, bounded and portable
JSON; every input model of every table gets them from its column kinds; and every
``ValidationFailed`` entry carries ``field``, ``message`` and ``type``."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from sqlalchemy import JSON, String
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import SQLModel

from agentfold_core.content import MessageContent, ModelSettings, ToolConfig
from agentfold_core.db.base import ManageBase, RuntimeBase
from agentfold_core.db.fields import BOUNDED_JSON, NO_NUL
from agentfold_core.db.integrity import classify
from agentfold_core.db.limits import (
    JSON_INVALID_NUMBER,
    JSON_INVALID_STRING,
    JSON_INVALID_VALUE,
    JSON_MAX_BYTES,
    JSON_MAX_DEPTH,
    JSON_MAX_INT_DIGITS,
    JSON_TOO_DEEP,
    JSON_TOO_LARGE,
    NUL_CHARACTER,
    JsonProblem,
    json_problem,
)
from agentfold_core.db.manage.schema import Agent, Tool
from agentfold_core.db.runtime.schema import ContextCache, Message
from agentfold_core.db.traits import sa_table
from agentfold_core.errors import ValidationFailed, field_error
from agentfold_core.validation import generate_models, validate_input
from tests.support.project_document import realistic_project

INPUT_KINDS = ("insert", "update", "api_insert", "api_update")


def table_classes() -> list[type[SQLModel]]:
    classes = [m.class_ for base in (ManageBase, RuntimeBase) for m in base._sa_registry.mappers]
    return sorted(classes, key=lambda c: c.__name__)


def nested(depth: int, leaf: Any = 1) -> Any:
    """``depth`` containers, dicts and lists alternating, around ``leaf``."""
    value = leaf
    for level in range(depth):
        value = {"a": value} if level % 2 else [value]
    return value


def loc_and_type(model: type[BaseModel], data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return [(".".join(map(str, e["loc"])), e["type"]) for e in info.value.errors()]


# ---------------------------------------------------------------------- declared once


@pytest.mark.parametrize("table", [pytest.param(c, id=sa_table(c).name) for c in table_classes()])
def test_every_text_and_json_column_is_bounded_in_every_input_model(
    table: type[SQLModel],
) -> None:
    models = generate_models(table)
    columns = sa_table(table).c
    for kind in INPUT_KINDS:
        model: type[BaseModel] = getattr(models, kind)
        for name, info in model.model_fields.items():
            column_type = columns[name].type
            if isinstance(column_type, JSON):
                assert BOUNDED_JSON in info.metadata, (kind, name)
            elif isinstance(column_type, String):
                assert NO_NUL in info.metadata, (kind, name)
            else:
                assert not bounds(info.metadata), (kind, name)
    # Reading does not pay for them.
    for kind in ("select", "api_select"):
        model = getattr(models, kind)
        assert not any(bounds(f.metadata) for f in model.model_fields.values())


def bounds(metadata: list[Any]) -> list[Any]:
    return [m for m in metadata if m is BOUNDED_JSON or m is NO_NUL]


def test_generated_errors_name_the_place_inside_the_column() -> None:
    api_insert = generate_models(Agent).api_insert
    options = {"x": nested(JSON_MAX_DEPTH)}
    deep = {"id": "a", "name": "A", "models": {"base": {"model": "m", "provider_options": options}}}
    assert loc_and_type(api_insert, deep) == [("models.base.provider_options", JSON_TOO_DEEP)]
    nul = {"id": "a", "name": "A\x00", "description": "ok", "prompt": "\x00"}
    assert loc_and_type(api_insert, nul) == [("name", NUL_CHARACTER), ("prompt", NUL_CHARACTER)]
    update = generate_models(Agent).api_update
    assert loc_and_type(update, {"models": {"base": {"model": "m\x00"}}}) == [
        ("models.base.model", NUL_CHARACTER)
    ]
    # A field stored under its alias is named by it.
    tool = generate_models(Tool).api_insert
    override = {"schema": {"k\x00": 1}}
    config = {"mcp": {"server": {"url": "https://x"}, "tool_overrides": {"t": override}}}
    assert loc_and_type(tool, {"id": "t", "name": "T", "config": config}) == [
        ("config.mcp.tool_overrides.t.schema", NUL_CHARACTER)
    ]


def test_validate_input_reports_field_message_and_type() -> None:
    api_insert = generate_models(Message).api_insert
    data = {
        "id": "m",
        "conversation_id": "c",
        "role": "user",
        "content": {"parts": [{"kind": "data", "data": {"rows": [float("nan")]}}]},
    }
    with pytest.raises(ValidationFailed) as info:
        validate_input(api_insert, data, "message")
    assert info.value.errors == [
        {
            "field": "content.parts.0.data.rows.0",
            "message": "not a finite number",
            "type": JSON_INVALID_NUMBER,
        }
    ]


def test_a_scalar_json_column_is_checked_too() -> None:
    api_insert = generate_models(ContextCache).api_insert
    base = {"conversation_id": "c", "context_config_id": "cc", "context_variable_key": "k"}
    assert loc_and_type(api_insert, {**base, "value": "a\x00"}) == [("value", NUL_CHARACTER)]
    assert loc_and_type(api_insert, {**base, "value": float("inf")}) == [
        ("value", JSON_INVALID_NUMBER)
    ]
    api_insert.model_validate({**base, "value": "fine"})


# ---------------------------------------------------------------------- json_problem


def test_depth_bound_is_exact() -> None:
    assert json_problem(nested(JSON_MAX_DEPTH)) is None
    assert json_problem(nested(JSON_MAX_DEPTH + 1)) == JsonProblem(
        JSON_TOO_DEEP, f"JSON nested more than {JSON_MAX_DEPTH} levels deep"
    )
    # Far deeper than the JSON encoder itself accepts (255): still a clean problem.
    assert json_problem(nested(1000))
    assert json_problem(nested(100_000)) is not None  # iterative: no RecursionError


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    assert json_problem({"pattern": "[{" * 500}) is None
    assert json_problem(["[" * 100, nested(JSON_MAX_DEPTH - 1)]) is None


def test_size_bound_is_the_encoded_size() -> None:
    fits = "x" * (JSON_MAX_BYTES - 2)  # plus its two quotes
    assert json_problem(fits) is None
    assert json_problem(fits + "x") == JsonProblem(
        JSON_TOO_LARGE, f"JSON larger than {JSON_MAX_BYTES} bytes"
    )
    # Non-ASCII counts in UTF-8 bytes, as stored.
    assert json_problem("é" * (JSON_MAX_BYTES // 2)) is not None
    assert json_problem({"k": ["x" * 1000] * (JSON_MAX_BYTES // 1000)}) is not None


@pytest.mark.parametrize(
    ("value", "path", "kind"),
    [
        ({"a": ["ok", "b\x00c"]}, ("a", 1), NUL_CHARACTER),
        ({"a": {"k\x00": 1}}, ("a",), NUL_CHARACTER),
        ("\x00", (), NUL_CHARACTER),
        ({"a": float("nan")}, ("a",), JSON_INVALID_NUMBER),
        ([1.0, float("-inf")], (1,), JSON_INVALID_NUMBER),
        ({"n": 10**JSON_MAX_INT_DIGITS}, ("n",), JSON_INVALID_NUMBER),
        ({"s": "a\ud800b"}, ("s",), JSON_INVALID_STRING),
        ({"o": object()}, ("o",), JSON_INVALID_VALUE),
        ({"t": ("x", "\x00")}, ("t", 1), NUL_CHARACTER),
    ],
)
def test_problem_names_its_place(value: Any, path: tuple[Any, ...], kind: str) -> None:
    problem = json_problem(value)
    assert problem is not None
    assert (problem.path, problem.type) == (path, kind)


class Color(StrEnum):
    RED = "red"
    BAD = "b\x00d"


@pytest.mark.parametrize(
    "value",
    [
        {"pattern": "\\u0000"},  # a backslash and "u0000": text, not a NUL
        {"when": datetime(2026, 1, 1, tzinfo=UTC), "id": uuid.uuid4(), "c": Color.RED},
        {"n": 10**JSON_MAX_INT_DIGITS - 1, "f": 1e308, "NaN": "Infinity"},
        {1: "int keys are encoded as strings"},
        {"set": {1, 2}, "tuple": (1, "a")},
        realistic_project("p"),
    ],
)
def test_storable_values_pass(value: Any) -> None:
    assert json_problem(value) is None


def test_largest_integer_allowed_reads_back() -> None:
    text = json.dumps({"n": 10**JSON_MAX_INT_DIGITS - 1})
    assert json.loads(text)["n"] == 10**JSON_MAX_INT_DIGITS - 1


def test_str_enum_with_nul_is_refused() -> None:
    problem = json_problem({"c": Color.BAD})
    assert problem is not None
    assert (problem.path, problem.type) == (("c",), NUL_CHARACTER)


def test_typed_content_paths() -> None:
    settings = ModelSettings.model_validate(
        {"base": {"model": "m", "provider_options": {"a": nested(JSON_MAX_DEPTH)}}}
    )
    problem = json_problem(settings)
    assert problem is not None
    assert (problem.path, problem.type) == (("base", "provider_options"), JSON_TOO_DEEP)
    content = MessageContent.model_validate(
        {"parts": [{"kind": "text", "text": "hi"}, {"kind": "file", "uri\x00": "x"}]}
    )
    problem = json_problem(content)
    assert problem is not None
    assert (problem.path, problem.type) == (("parts", 1), NUL_CHARACTER)
    content = MessageContent.model_validate(
        {"parts": [{"kind": "data", "data": nested(JSON_MAX_DEPTH)}]}
    )
    problem = json_problem(content)
    assert problem is not None
    assert problem.path == ("parts", 0, "data")


def test_non_finite_float_in_typed_content_is_seen() -> None:
    # Pydantic encodes non-finite floats of models as null by default; content encodes
    # them as stored (NaN), so the bound sees them.
    settings = ModelSettings.model_validate(
        {"base": {"model": "m", "provider_options": {"t": float("nan")}}}
    )
    problem = json_problem(settings)
    assert problem is not None
    assert problem.path == ("base", "provider_options", "t")


def test_content_is_stored_under_its_aliases() -> None:
    config = ToolConfig.model_validate(
        {"mcp": {"server": {"url": "https://x"}, "tool_overrides": {"t": {"schema": {}}}}}
    )
    dumped = config.model_dump()
    assert dumped["mcp"]["tool_overrides"]["t"] == {
        "display_name": None,
        "description": None,
        "schema": {},
    }
    assert ToolConfig.model_validate(dumped) == config


# ---------------------------------------------------------------------- ValidationFailed


def test_every_entry_has_field_message_and_type() -> None:
    error = ValidationFailed(
        "bad input",
        errors=[
            field_error("a", "too long", "string_too_long"),
            {"field": "b", "message": "out of range"},
            {"message": "whole input"},
            {},
        ],
    )
    assert error.errors == [
        {"field": "a", "message": "too long", "type": "string_too_long"},
        {"field": "b", "message": "out of range", "type": "invalid"},
        {"field": "", "message": "whole input", "type": "invalid"},
        {"field": "", "message": "bad input", "type": "invalid"},
    ]


def _driver_error(
    kind: type[IntegrityError] | type[DataError], text: str, **orig: Any
) -> IntegrityError | DataError:
    class Orig(Exception):
        pass

    original = Orig(text)
    for name, value in orig.items():
        setattr(original, name, value)
    return kind("INSERT ...", {}, original)


@pytest.mark.parametrize(
    ("exc", "entry"),
    [
        (
            _driver_error(
                IntegrityError,
                'null value in column "name" of relation "agents"',
                sqlstate="23502",
                diag=SimpleNamespace(column_name="name", constraint_name=None),
            ),
            {"field": "name", "message": "must not be null", "type": "not_null"},
        ),
        (
            _driver_error(IntegrityError, "NOT NULL constraint failed: agents.prompt"),
            {"field": "prompt", "message": "must not be null", "type": "not_null"},
        ),
        (
            _driver_error(
                DataError,
                "value too long for type character varying(32)\nDETAIL: ...",
                sqlstate="22001",
            ),
            {
                "field": "",
                "message": "value too long for type character varying(32)",
                "type": "database",
            },
        ),
        (
            _driver_error(DataError, ""),
            {"field": "", "message": "the database refused the value", "type": "database"},
        ),
    ],
)
def test_driver_errors_give_one_typed_entry(exc: Any, entry: dict[str, str]) -> None:
    error = classify(exc, resource="agent", key={"id": "a"})
    assert isinstance(error, ValidationFailed)
    assert error.errors == [entry]
