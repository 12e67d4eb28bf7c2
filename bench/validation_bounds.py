"""Cost of the value bounds (no NUL, JSON depth and size) in input validation.

Validates the same payloads with the generated input models as they are (bounds on)
and with models generated without the per-column refinements (bounds off), interleaved
in rounds, and prints JSON: median microseconds per validation and the ratio on/off.

Payloads: an agent with model settings; the realistic project document
(``tests/support/project_document.py``) validated as a whole; a tool carrying a
~100 KB JSON Schema in its capabilities; a message with ten content parts.

    uv run python bench/validation_bounds.py [--iterations 300]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import BaseModel, ConfigDict, Field, create_model
from sqlmodel import SQLModel
from tests.support.project_document import realistic_project

from agentfold_core.data_access.documents.models import document_fields
from agentfold_core.data_access.documents.tree import PROJECT_NODE, Node
from agentfold_core.data_access.documents.write import _with_ids
from agentfold_core.db.base import ManageBase
from agentfold_core.db.manage.schema import Agent, Tool
from agentfold_core.db.runtime.schema import Message
from agentfold_core.validation import generate


def _schema(width: int, depth: int) -> dict[str, Any]:
    if depth == 0:
        return {"type": "string", "description": "a leaf property " * 3, "maxLength": 256}
    return {
        "type": "object",
        "properties": {f"p{i}": _schema(width, depth - 1) for i in range(width)},
        "required": [f"p{i}" for i in range(width)],
    }


AGENT = {
    "id": "triage",
    "name": "Triage",
    "description": "Routes support requests",
    "prompt": "You route requests. " * 200,
    "models": {
        "base": {"model": "gpt-4.1", "provider_options": {"temperature": 0.2, "top_p": 0.9}},
        "summarizer": {"model": "gpt-4.1-mini"},
    },
    "stop_when": {"transfer_count_is": 5, "step_count_is": 40},
    "status_updates": {"enabled": True, "num_events": 3},
}
TOOL = {
    "id": "big",
    "name": "Big schema",
    "config": {"type": "mcp", "mcp": {"server": {"url": "https://mcp.example.com"}}},
    "capabilities": _schema(6, 4),
}
MESSAGE = {
    "id": "m",
    "conversation_id": "c",
    "role": "agent",
    "content": {
        "text": "Here is what I found.",
        "parts": [
            {"kind": "data", "data": {"rows": [{"id": i, "title": f"Ticket {i}"}]}}
            for i in range(10)
        ],
    },
}


def _document_model(node: Node, api_insert: Callable[[Node], type[BaseModel]]) -> type[BaseModel]:
    # The shape of documents.models.document_model, over the given api_insert models.
    base = api_insert(node)
    fields: dict[str, Any] = {
        name: (info.annotation, info)
        for name, info in base.model_fields.items()
        if name in document_fields(node)
    }
    for child in node.children:
        sub = _document_model(child, api_insert)
        kind = dict[str, sub] if child.keyed else list[sub]  # type: ignore[valid-type]
        fields[child.key] = (kind, Field(default_factory=dict if child.keyed else list))
    return create_model(
        f"Bench{node.entity.table.name}", __config__=ConfigDict(extra="forbid"), **fields
    )


def _table_class(node: Node) -> type[SQLModel]:
    for mapper in ManageBase._sa_registry.mappers:
        if mapper.class_.__table__ is node.entity.table:
            return mapper.class_
    raise LookupError(node.entity.table.name)


def _median_us(fn: Callable[[], Any], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e6)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=300)
    args = parser.parse_args()

    tables = (Agent, Tool, Message)
    with mock.patch.object(generate, "column_refinements", return_value=()):
        plain = {t: generate.generate_models(t).api_insert for t in tables}
        plain_document = _document_model(
            PROJECT_NODE, lambda n: generate.generate_models(_table_class(n)).api_insert
        )
    bounded = {t: generate.generate_models(t).api_insert for t in tables}
    bounded_document = _document_model(PROJECT_NODE, lambda n: n.entity.models.api_insert)
    document = realistic_project("support")
    cases: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
        "agent": (
            lambda: bounded[Agent].model_validate(AGENT),
            lambda: plain[Agent].model_validate(AGENT),
        ),
        "project_document": (
            lambda: bounded_document.model_validate(_with_ids(PROJECT_NODE, document)),
            lambda: plain_document.model_validate(_with_ids(PROJECT_NODE, document)),
        ),
        "tool_100kb_schema": (
            lambda: bounded[Tool].model_validate(TOOL),
            lambda: plain[Tool].model_validate(TOOL),
        ),
        "message_10_parts": (
            lambda: bounded[Message].model_validate(MESSAGE),
            lambda: plain[Message].model_validate(MESSAGE),
        ),
    }
    results: dict[str, dict[str, float]] = {}
    for name, (on, off) in cases.items():
        on_times, off_times = [], []
        for _ in range(10):
            on_times.append(_median_us(on, args.iterations // 10))
            off_times.append(_median_us(off, args.iterations // 10))
        on_us, off_us = statistics.median(on_times), statistics.median(off_times)
        results[name] = {
            "bounded_us": round(on_us, 1),
            "unbounded_us": round(off_us, 1),
            "ratio": round(on_us / off_us, 3),
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
