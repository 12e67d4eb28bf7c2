"""The API key role rule, said twice: as field errors on issue and as a CHECK constraint.
Both must agree on every combination of role and binding."""

from __future__ import annotations

import itertools
import sqlite3
from typing import get_args

import pytest

from agentfold_core.data_access.runtime.api_keys import role_binding_errors
from agentfold_core.db.runtime.schema import (
    API_KEY_ROLE_BINDING_CHECK,
    API_KEY_ROLE_BINDINGS,
    ApiKeyRole,
)

ROLES = [*API_KEY_ROLE_BINDINGS, "member", "run"]
CASES = list(itertools.product(ROLES, (None, "p"), (None, "a")))


def test_the_roles_are_the_column_type() -> None:
    assert set(API_KEY_ROLE_BINDINGS) == set(get_args(ApiKeyRole))


@pytest.mark.parametrize(("role", "project", "agent"), CASES)
def test_check_constraint_and_field_errors_agree(
    role: str, project: str | None, agent: str | None
) -> None:
    with sqlite3.connect(":memory:") as conn:
        conn.execute(
            "CREATE TABLE api_keys (role TEXT NOT NULL, project_id TEXT, agent_id TEXT,"
            f" CHECK ({API_KEY_ROLE_BINDING_CHECK}))"
        )
        try:
            conn.execute("INSERT INTO api_keys VALUES (?, ?, ?)", (role, project, agent))
            accepted = True
        except sqlite3.IntegrityError:
            accepted = False
    errors = role_binding_errors(role, project, agent)
    assert accepted == (not errors), errors


def test_field_errors_name_the_field_and_the_rule() -> None:
    assert role_binding_errors("admin", "p", "a") == [
        {
            "field": "project_id",
            "message": "an admin key covers the whole tenant: it takes no project_id",
            "type": "api_key_role_binding",
        },
        {
            "field": "agent_id",
            "message": "an admin key covers the whole tenant: it takes no agent_id",
            "type": "api_key_role_binding",
        },
    ]
    assert role_binding_errors("viewer", None, None) == [
        {
            "field": "project_id",
            "message": "a viewer key is bound to one project: project_id is required",
            "type": "api_key_role_binding",
        }
    ]
    assert role_binding_errors("runner", "p", "a") == []
