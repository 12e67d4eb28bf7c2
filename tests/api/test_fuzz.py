"""Property-based requests generated from the OpenAPI document: no input produces a
5xx, every status is documented, every response matches the document (content type,
headers, body). Bounded (examples per operation) so CI stays short;
``AGENTFOLD_FUZZ_EXAMPLES`` raises it for a longer hunt.

Path ids of the seeded tenant, project and agent are filled in, so generated bodies and
query parameters reach real rows rather than stopping at a 404.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from agentfold_api.app import create_app
from agentfold_api.settings import ApiSettings
from agentfold_core.settings import DatabaseSettings
from tests.support.databases import TestDatabases

TOKEN = "fuzz-operator-token"  # noqa: S105 - a test credential
EXAMPLES = int(os.environ.get("AGENTFOLD_FUZZ_EXAMPLES", "5"))
# A regular expression: only the operations whose path it finds (a shorter hunt).
ONLY = re.compile(os.environ.get("AGENTFOLD_FUZZ_PATHS", ""))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
SEEDED = {"tenant_id": "fuzz", "project_id": "shop", "agent_id": "triage"}


class Target:
    """The app under fuzzing, its client (lifespan entered once) and credentials: the
    run API is called with a runner key, everything else with an admin key."""

    def __init__(self, client: Any, admin: str, runner: str) -> None:
        self.client = client
        self.headers = {"authorization": f"Bearer {admin}"}
        self.runner = {"authorization": f"Bearer {runner}"}

    def headers_for(self, path: str) -> dict[str, str]:
        """The credential that may call ``path``."""
        return self.runner if path.startswith("/run/") else self.headers


@pytest.fixture(scope="module")
def target(databases: TestDatabases) -> Iterator[Target]:
    """The service on this backend, with tenant ``fuzz`` holding project ``shop``."""
    app = create_app(
        DatabaseSettings(
            manage_database_url=databases.manage_url, runtime_database_url=databases.runtime_url
        ),
        ApiSettings(admin_token=TOKEN, max_body_bytes=64 * 1024),
    )
    application: Any = app  # an ASGI app; schemathesis types it more narrowly
    with asgi.get_client(application) as client:
        operator = {"authorization": f"Bearer {TOKEN}"}
        client.post("/manage/tenants", json={"id": "fuzz", "name": "Fuzz"}, headers=operator)
        issued = client.post(
            "/manage/tenants/fuzz/api-keys", json={"role": "admin"}, headers=operator
        ).json()
        admin = {"authorization": f"Bearer {issued['key']}"}
        project = "/manage/tenants/fuzz/projects"
        client.post(project, json={"id": "shop", "name": "Shop"}, headers=admin)
        client.post(f"{project}/shop/agents", json={"id": "triage", "name": "T"}, headers=admin)
        runner = client.post(
            "/manage/tenants/fuzz/api-keys",
            json={"role": "runner", "project_id": "shop"},
            headers=operator,
        ).json()
        yield Target(client, issued["key"], runner["key"])


def _check_operation(operation: Any, target: Target) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        if case.path_parameters:
            case.path_parameters = {
                **case.path_parameters,
                **{k: v for k, v in SEEDED.items() if k in case.path_parameters},
            }
        case.call_and_validate(
            session=target.client, headers=target.headers_for(operation.path), checks=CHECKS
        )

    check()


def test_no_server_errors_and_responses_match_the_document(target: Target) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", target.client.app)
    failures = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"invalid operation in the document: {result.err()}")
            continue
        operation = result.ok()
        if not ONLY.search(operation.path):
            continue
        try:
            _check_operation(operation, target)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert failures == [], "\n\n".join(failures)
