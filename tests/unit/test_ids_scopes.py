"""Resource ids (user-chosen, generated, derived) and scope objects."""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
import string
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentfold_core.data_access.manage.projects import PROJECTS
from agentfold_core.data_access.manage.sub_agent_links import SUB_AGENT_TOOLS
from agentfold_core.data_access.runtime.conversations import CONVERSATIONS
from agentfold_core.data_access.runtime.tenants import TENANTS
from agentfold_core.data_access.scope_keys import key_values, resolve
from agentfold_core.db.columns import ScopeLevel
from agentfold_core.errors import InvalidId, InvalidRef, ReadOnlyRef, ValidationFailed
from agentfold_core.ids import (
    GENERATED_ID_LENGTH,
    check_id,
    generate_id,
    is_valid_id,
    relation_id,
)
from agentfold_core.scopes import (
    DEFAULT_BRANCH,
    AgentScope,
    ProjectScope,
    SubAgentScope,
    TenantScope,
    check_branch,
    check_ref,
)

# ---------------------------------------------------------------------- ids


def test_generated_ids_are_21_lowercase_alphanumerics_and_distinct() -> None:
    generated = [generate_id() for _ in range(2000)]
    assert GENERATED_ID_LENGTH == 21
    for value in generated:
        assert len(value) == 21
        assert value.isascii()
        assert value.isalnum()
        assert value == value.lower()
        assert is_valid_id(value)
    assert len(set(generated)) == len(generated)


def test_generated_id_characters_are_equally_likely() -> None:
    counts = Counter("".join(generate_id() for _ in range(20_000)))
    assert set(counts) == set(string.ascii_lowercase + string.digits)
    expected = 20_000 * GENERATED_ID_LENGTH / 36
    # 5% is more than 5 standard deviations here; a plain ``byte % 36`` favours the
    # first four characters by 14%.
    assert all(abs(n - expected) < 0.05 * expected for n in counts.values()), counts


def test_a_generated_id_draws_again_past_the_biased_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    draws = iter([bytes([252, 253, 254, 255] * 8), bytes(range(32))])
    monkeypatch.setattr(secrets, "token_bytes", lambda n: next(draws))
    # The first draw holds only bytes that would bias the alphabet: all dropped.
    assert generate_id() == (string.ascii_lowercase + string.digits)[:21]


def test_relation_id_is_the_truncated_sha256_of_the_nul_joined_parts() -> None:
    parts = ("acme", "support", "triage", "router", "tool-1")
    expected = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]
    assert relation_id(*parts) == expected
    assert len(expected) == 32
    assert is_valid_id(expected)


@given(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=5))
def test_relation_id_is_deterministic(parts: list[str]) -> None:
    assert relation_id(*parts) == relation_id(*parts)


def test_relation_id_separates_parts() -> None:
    assert relation_id("ab", "c") != relation_id("a", "bc")
    assert relation_id("a", "b") != relation_id("b", "a")
    assert relation_id("a") != relation_id("a", "")


@pytest.mark.parametrize("value", ["", "new", "a b", "a/b", "x" * 256, "ä", "a\x00"])
def test_invalid_ids(value: str) -> None:
    assert not is_valid_id(value)
    with pytest.raises(ValueError, match="invalid id"):
        check_id(value)


@pytest.mark.parametrize("value", ["a", "x" * 255, "support-triage", "v1.2_final", "New"])
def test_valid_ids(value: str) -> None:
    assert is_valid_id(value)
    assert check_id(value) == value


# ---------------------------------------------------------------------- refs


@pytest.mark.parametrize("ref", ["main", "feature/login", "release-1.2", "v1~2", "a_b"])
def test_valid_refs(ref: str) -> None:
    assert check_ref(ref) == ref


@pytest.mark.parametrize(
    "ref", ["", "a..b", "/x", "x/", ".x", "x.", "has space", "a\nb", "x" * 257, "a:b"]
)
def test_invalid_refs(ref: str) -> None:
    with pytest.raises(ValueError, match="invalid ref"):
        check_ref(ref)


# ---------------------------------------------------------------------- scopes


def test_scope_objects_validate_their_ids() -> None:
    with pytest.raises(ValueError, match="invalid id"):
        TenantScope("bad id")
    with pytest.raises(ValueError, match="invalid id"):
        ProjectScope("acme", "new")
    with pytest.raises(ValueError, match="invalid ref"):
        ProjectScope("acme", "support", ref="a..b")
    with pytest.raises(ValueError, match="invalid id"):
        AgentScope("acme", "support", "a/b")
    with pytest.raises(ValueError, match="invalid id"):
        SubAgentScope("acme", "support", "triage", "")


def test_scopes_nest_and_are_values() -> None:
    sub = SubAgentScope("acme", "support", "triage", "router", ref="dev")
    assert isinstance(sub, AgentScope)
    assert isinstance(sub, ProjectScope)
    assert isinstance(sub, TenantScope)
    assert sub.agent() == AgentScope("acme", "support", "triage", ref="dev")
    assert sub.project() == ProjectScope("acme", "support", ref="dev")
    assert sub.tenant() == TenantScope("acme")
    assert ProjectScope("acme", "support").ref == DEFAULT_BRANCH == "main"
    assert ProjectScope("acme", "support").at("dev") == ProjectScope("acme", "support", ref="dev")
    assert ProjectScope("acme", "support") != ProjectScope("acme", "support", ref="dev")
    assert hash(sub) == hash(SubAgentScope("acme", "support", "triage", "router", ref="dev"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        sub.tenant_id = "other"  # type: ignore[misc]


def test_key_values_per_level() -> None:
    sub = resolve(SubAgentScope("acme", "support", "triage", "router", ref="dev"))
    runtime, manage = CONVERSATIONS.traits, SUB_AGENT_TOOLS.traits
    assert key_values(sub, runtime, ScopeLevel.TENANT) == {"tenant_id": "acme"}
    assert key_values(sub, runtime, ScopeLevel.PROJECT) == {
        "tenant_id": "acme",
        "project_id": "support",
    }
    assert key_values(sub, manage, ScopeLevel.PROJECT) == {
        "tenant_id": "acme",
        "project_id": "support",
        "branch": "dev",
    }
    assert key_values(sub, manage, ScopeLevel.AGENT) == {
        "tenant_id": "acme",
        "project_id": "support",
        "branch": "dev",
        "agent_id": "triage",
    }
    assert key_values(sub, manage, ScopeLevel.SUB_AGENT) == {
        "tenant_id": "acme",
        "project_id": "support",
        "branch": "dev",
        "agent_id": "triage",
        "sub_agent_id": "router",
    }


def test_self_scoped_rows_keep_their_scope_id_in_id() -> None:
    project = resolve(ProjectScope("acme", "support", ref="dev"))
    assert PROJECTS.scope_key(project) == {"tenant_id": "acme", "id": "support", "branch": "dev"}
    # Listed per tenant: on the scope's branch, or the default branch for a tenant scope.
    assert PROJECTS.scope_key(project, ScopeLevel.TENANT) == {"tenant_id": "acme", "branch": "dev"}
    tenant = resolve(TenantScope("acme"))
    assert PROJECTS.scope_key(tenant, ScopeLevel.TENANT) == {"tenant_id": "acme", "branch": "main"}
    assert TENANTS.scope_key(project) == {"id": "acme"}
    assert project.key(PROJECTS.traits, every_branch=True) == {"tenant_id": "acme", "id": "support"}


@pytest.mark.parametrize(
    ("scope", "level"),
    [
        (TenantScope("acme"), ScopeLevel.PROJECT),
        (ProjectScope("acme", "support"), ScopeLevel.AGENT),
        (AgentScope("acme", "support", "triage"), ScopeLevel.SUB_AGENT),
    ],
)
def test_key_values_refuse_a_scope_too_shallow_for_the_table(
    scope: TenantScope, level: ScopeLevel
) -> None:
    with pytest.raises(TypeError):
        key_values(resolve(scope), SUB_AGENT_TOOLS.traits, level)


def test_a_malformed_scope_names_its_field() -> None:
    with pytest.raises(InvalidId) as caught:
        AgentScope("acme", "support", "bad id")
    assert caught.value.errors == [
        {"field": "agent_id", "message": caught.value.message, "type": "invalid_id"}
    ]
    with pytest.raises(InvalidRef) as ref:
        ProjectScope("acme", "support", ref="a..b")
    assert [e["field"] for e in ref.value.errors] == ["ref"]
    # Both are ValidationFailed for callers and ValueError for field validators.
    assert isinstance(caught.value, ValidationFailed)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("ref", ["main~1", "main^", "feature~2^"])
def test_refs_naming_commits_are_never_written(ref: str) -> None:
    scope = ProjectScope("acme", "support", ref=ref)  # well formed...
    with pytest.raises(ReadOnlyRef) as caught:
        resolve(scope, write=True)  # ...but only branches move
    assert caught.value.errors[0]["type"] == "read_only_ref"
    assert isinstance(caught.value, InvalidRef)
    assert resolve(scope.at("feature/x")).branch == "feature/x"
    with pytest.raises(InvalidRef):
        check_branch(ref)
