"""The OpenAPI document: complete for every operation, and guarded by a snapshot."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import pytest
from litestar.exceptions.base_exceptions import LitestarDeprecationWarning

from agentfold_api.app import create_app
from agentfold_core.settings import DatabaseSettings

SNAPSHOT = Path(__file__).with_name("openapi_snapshot.json")
UPDATE = "AGENTFOLD_UPDATE_SNAPSHOT"
METHODS = {"get", "post", "put", "patch", "delete"}
PUBLIC = {"health_live", "health_ready"}


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The document of an app that is built but never started (no database needed)."""
    directory = tmp_path_factory.mktemp("openapi")
    app = create_app(
        DatabaseSettings(
            manage_database_url=f"sqlite+aiosqlite:///{directory / 'm.db'}",
            runtime_database_url=f"sqlite+aiosqlite:///{directory / 'r.db'}",
        )
    )
    schema: dict[str, Any] = app.openapi_schema.to_schema()
    return schema


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_every_operation_is_documented(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    assert "bearer" in document["components"]["securitySchemes"]
    seen: set[str] = set()
    for method, path, operation in _operations(document):
        where = f"{method.upper()} {path}"
        assert operation.get("operationId"), where
        assert operation["operationId"] not in seen, where
        seen.add(operation["operationId"])
        assert operation.get("tags"), where
        assert operation.get("summary"), where
        responses = operation["responses"]
        if operation["operationId"] in PUBLIC:
            continue
        assert operation.get("security") == [{"bearer": []}], where
        assert {"400", "401", "422"} <= responses.keys(), where
        for code in {c for c in responses if c.startswith(("4", "5"))}:
            content = responses[code]["content"]
            assert "application/problem+json" in content, f"{where} {code}"
        if "{" in path:
            assert "404" in responses, where
        if "requestBody" in operation:
            assert {"413", "415"} <= responses.keys(), where


def _shape(content: dict[str, Any]) -> str:
    # Media types with the schema each names (a $ref, or the inline schema's type).
    return ",".join(
        f"{media}:{c.get('schema', {}).get('$ref', c.get('schema', {}).get('type', 'inline'))}"
        for media, c in sorted(content.items())
    )


def _summary(document: dict[str, Any]) -> dict[str, Any]:
    operations = {
        f"{method.upper()} {path}": {
            "operationId": op["operationId"],
            "tags": op.get("tags"),
            "parameters": sorted(f"{p['in']}:{p['name']}" for p in op.get("parameters", [])),
            "body": _shape(op.get("requestBody", {}).get("content", {})),
            "responses": {
                code: _shape(r.get("content", {})) for code, r in op["responses"].items()
            },
        }
        for method, path, op in _operations(document)
    }
    schemas = {
        name: sorted(schema.get("properties", {}))
        for name, schema in document["components"].get("schemas", {}).items()
    }
    return {"operations": operations, "schemas": schemas}


def test_snapshot(document: dict[str, Any]) -> None:
    current = _summary(document)
    if os.environ.get(UPDATE) or not SNAPSHOT.exists():
        SNAPSHOT.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
        if not os.environ.get(UPDATE):
            pytest.fail(f"wrote a new snapshot {SNAPSHOT.name}: review and commit it")
    stored = json.loads(SNAPSHOT.read_text())
    assert current == stored, (
        f"the API changed: review the difference, then run with {UPDATE}=1 to accept it"
    )


def test_no_route_uses_a_deprecated_declaration(tmp_path: Path) -> None:
    """Every parameter names its source (path, query, header; the wire name in
    ``name``) and the body its marker: Litestar 3 refuses the inferred and generic
    ``Parameter`` styles, and Litestar 2 warns of each at start-up."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app = create_app(
            DatabaseSettings(
                manage_database_url=f"sqlite+aiosqlite:///{tmp_path / 'm.db'}",
                runtime_database_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}",
            )
        )
        app.openapi_schema.to_schema()
    found = [str(w.message) for w in caught if issubclass(w.category, LitestarDeprecationWarning)]
    assert found == []
