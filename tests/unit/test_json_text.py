"""``db.json_text.loads`` parses exactly as ``json.loads`` does, on either parser."""

from __future__ import annotations

import json

import pytest

from agentfold_core.db.json_text import loads

_DOCUMENTS = [
    '{"a":1,"b":[true,false,null],"c":{"d":"é\\u00e9\\ud83d\\ude00"},"e":1.5e-7}',
    '[12345678901234567890,-0.0,"",{}]',
    '{"k":1,"k":2}',
    '"just a string"',
]


@pytest.mark.parametrize("text", _DOCUMENTS)
def test_loads_equals_the_standard_parser(text: str) -> None:
    assert loads(text) == json.loads(text)
    assert loads(text.encode()) == json.loads(text)


def test_what_msgspec_refuses_the_standard_parser_reads() -> None:
    """NaN and Infinity (written by ``json.dumps`` by default) still parse."""
    found = loads('{"x":NaN,"y":Infinity,"z":-Infinity}')
    assert found["x"] != found["x"]
    assert found["y"] == float("inf")
    assert found["z"] == float("-inf")


def test_invalid_json_raises_the_standard_error() -> None:
    with pytest.raises(json.JSONDecodeError):
        loads('{"unterminated": ')
