"""The generated validation models: six per table, the right fields in each, and the
refinements declared beside the columns (ids, lengths, enums, JSON content)."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from sqlmodel import SQLModel

from agentfold_core.content import ToolConfig, ToolPolicy
from agentfold_core.db.base import ManageBase, RuntimeBase
from agentfold_core.db.columns import ScopeLevel
from agentfold_core.db.traits import sa_table
from agentfold_core.ids import check_id, is_valid_id
from agentfold_core.validation import ModelSet, generate_models
from tests.support.entities import all_entities, entity_for
from tests.support.graph import Context
from tests.support.samples import SAMPLES

MODEL_KINDS = ("select", "insert", "update", "api_select", "api_insert", "api_update")
SUFFIXES = {
    "select": "Row",
    "insert": "Insert",
    "update": "Update",
    "api_select": "ApiSelect",
    "api_insert": "ApiInsert",
    "api_update": "ApiUpdate",
}
ID_ALPHABET = string.ascii_letters + string.digits + "._-"


def table_classes() -> list[type[SQLModel]]:
    classes = [m.class_ for base in (ManageBase, RuntimeBase) for m in base._sa_registry.mappers]
    return sorted(classes, key=lambda c: c.__name__)


TABLE_PARAMS = [pytest.param(c, id=sa_table(c).name) for c in table_classes()]


def models_of(table: type[SQLModel]) -> ModelSet[Any]:
    return generate_models(table)


def fields(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


def required(model: type[BaseModel]) -> set[str]:
    return {name for name, info in model.model_fields.items() if info.is_required()}


def valid(model: type[BaseModel], data: Any) -> Any:
    """``data`` validated by ``model`` (typed loosely: generated models have no stubs)."""
    return model.model_validate(data)


def rejects(model: type[BaseModel], data: dict[str, Any]) -> set[str]:
    """The failing fields (dotted) when ``model`` validates ``data``; fails if it passes."""
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return {".".join(str(p) for p in e["loc"]) for e in info.value.errors()}


# ---------------------------------------------------------------------- the six models


@pytest.mark.parametrize("table", TABLE_PARAMS)
def test_six_models_per_table_with_the_right_fields(table: type[SQLModel]) -> None:
    models = models_of(table)
    traits = models.traits
    columns = set(traits.columns)
    scope = set(traits.scope_columns)
    base = table.__name__
    for kind in MODEL_KINDS:
        model = getattr(models, kind)
        assert issubclass(model, BaseModel)
        assert model.__name__ == f"{base}{SUFFIXES[kind]}"
        assert getattr(model, "__table__", None) is None  # never the table model
    assert fields(models.select) == columns
    assert fields(models.insert) == columns
    assert {"created_at", "updated_at"}.isdisjoint(required(models.insert))
    immutable = scope | {"id", "created_at"} | set(traits.natural_key) | traits.immutable
    assert fields(models.update) == columns - immutable - traits.server_generated
    assert required(models.update) == set()
    assert fields(models.api_select) == columns - scope - traits.secrets
    assert fields(models.api_insert) == columns - scope - traits.server_generated
    assert fields(models.api_update) == fields(models.update) - scope
    assert required(models.api_update) == set()
    for kind in ("insert", "update", "api_insert", "api_update"):
        assert getattr(models, kind).model_config.get("extra") == "forbid", kind
    if traits.derived_id:
        assert "id" not in fields(models.api_insert)
        assert "id" not in required(models.insert)
    elif "id" in fields(models.api_insert):
        # A user-chosen id, generated when not given.
        payload = Context("t", "p").fill(SAMPLES[traits.name].create)
        payload.pop("id", None)
        generated = valid(models.api_insert, payload)
        assert is_valid_id(generated.id)
        assert len(generated.id) == 21
        assert generated.id != valid(models.api_insert, payload).id


def test_every_entity_uses_the_generated_models() -> None:
    for entity in all_entities():
        table = next(c for c in table_classes() if sa_table(c).name == entity.traits.name)
        generated = generate_models(table)
        for kind in MODEL_KINDS:
            assert fields(getattr(entity.models, kind)) == fields(getattr(generated, kind))


@pytest.mark.parametrize("entity", all_entities(), ids=lambda e: e.traits.name)
def test_api_models_omit_scope_columns(entity: Any) -> None:
    hidden = {"tenant_id", "project_id", "branch"}
    if entity.traits.level in (ScopeLevel.AGENT, ScopeLevel.SUB_AGENT):
        hidden.add("agent_id")
    if entity.traits.level is ScopeLevel.SUB_AGENT:
        hidden.add("sub_agent_id")
    hidden &= set(entity.traits.scope_columns)
    for kind in ("api_select", "api_insert", "api_update"):
        assert hidden.isdisjoint(fields(getattr(entity.models, kind))), kind


def test_api_models_omit_the_api_key_hash() -> None:
    models = entity_for("api_keys").models
    assert models.traits.secrets == {"key_hash"}
    assert "key_hash" in fields(models.select)
    assert "key_hash" in fields(models.insert)
    for kind in ("api_select", "api_insert", "api_update", "update"):
        assert "key_hash" not in fields(getattr(models, kind)), kind
    assert "key_hash" in rejects(
        models.api_insert,
        {"public_id": "p", "key_prefix": "k", "project_id": "p", "key_hash": "h"},
    )
    row = models.select.model_validate(
        {
            "tenant_id": "t",
            "id": "k",
            "public_id": "p",
            "key_hash": "secret-hash",
            "key_prefix": "af_p",
            "project_id": "p",
        }
    )
    shown = models.api_select.model_validate(row).model_dump()
    assert "key_hash" not in shown
    assert "secret-hash" not in repr(shown)


# ---------------------------------------------------------------------- refinements

AGENT = entity_for("agents").models
SUB_AGENT = entity_for("sub_agents").models
SKILL = entity_for("skills").models
SKILL_FILE = entity_for("skill_files").models
RELATION = entity_for("sub_agent_relations").models
TOOL = entity_for("tools").models
TOOL_RELATION = entity_for("sub_agent_tool_relations").models


@pytest.mark.parametrize("bad", ["", "new", "has space", "a/b", "é", "x" * 256, "a\nb", "a:b"])
def test_bad_ids_are_rejected(bad: str) -> None:
    assert rejects(AGENT.api_insert, {"id": bad, "name": "A"}) == {"id"}
    assert "tenant_id" in rejects(
        AGENT.insert,
        {"tenant_id": bad, "project_id": "p", "branch": "main", "id": "a", "name": "A"},
    )


@pytest.mark.parametrize("good", ["a", "x" * 255, "Support-Triage_1.v2", "NEW", "new-1", "..."])
def test_good_ids_are_accepted(good: str) -> None:
    assert valid(AGENT.api_insert, {"id": good, "name": "A"}).id == good


@given(st.from_regex(r"[a-zA-Z0-9._-]{1,255}", fullmatch=True).filter(lambda s: s != "new"))
def test_id_rule_accepts_every_id_of_the_class(value: str) -> None:
    assert is_valid_id(value)
    assert check_id(value) == value
    assert valid(AGENT.api_insert, {"id": value, "name": "A"}).id == value


@given(
    st.text(alphabet=ID_ALPHABET, max_size=20),
    st.characters(blacklist_characters=ID_ALPHABET),
    st.text(alphabet=ID_ALPHABET, max_size=20),
)
def test_id_rule_rejects_any_character_outside_the_class(
    prefix: str, bad: str, suffix: str
) -> None:
    value = prefix + bad + suffix
    assert not is_valid_id(value)
    with pytest.raises(ValueError, match="invalid id"):
        check_id(value)
    assert rejects(AGENT.api_insert, {"id": value, "name": "A"}) == {"id"}


def test_name_length() -> None:
    assert valid(AGENT.api_insert, {"id": "a", "name": "n" * 256}).name == "n" * 256
    assert rejects(AGENT.api_insert, {"id": "a", "name": "n" * 257}) == {"name"}
    assert rejects(AGENT.api_insert, {"id": "a", "name": ""}) == {"name"}
    assert rejects(AGENT.api_update, {"name": "n" * 257}) == {"name"}


@pytest.mark.parametrize("models", [AGENT, SUB_AGENT], ids=["agents", "sub_agents"])
def test_prompt_length(models: ModelSet[Any]) -> None:
    ok = valid(models.api_insert, {"id": "a", "name": "A", "prompt": "p" * 200_000})
    assert len(ok.prompt) == 200_000
    assert rejects(models.api_insert, {"id": "a", "name": "A", "prompt": "p" * 200_001}) == {
        "prompt"
    }
    assert rejects(models.api_update, {"prompt": "p" * 200_001}) == {"prompt"}


@pytest.mark.parametrize("bad", ["Bad_Name", "UPPER", "has space", "a" * 65, "", "dot.ted", "ü"])
def test_bad_skill_names_are_rejected(bad: str) -> None:
    assert rejects(SKILL.api_insert, {"id": bad, "description": "d", "content": "c"}) == {"id"}


@pytest.mark.parametrize("good", ["good-skill", "a" * 64, "0-9"])
def test_good_skill_names_are_accepted(good: str) -> None:
    model = valid(SKILL.api_insert, {"id": good, "description": "d", "content": "c"})
    assert model.id == good


@pytest.mark.parametrize(
    "path",
    ["../x", "/etc/passwd", "a//b", "a\\b", "a/../b", "./a", "a/.", "", "a/", "a\x00b"],
)
def test_unsafe_skill_file_paths_are_rejected(path: str) -> None:
    assert rejects(SKILL_FILE.api_insert, {"skill_id": "s", "path": path, "content": "c"}) == {
        "path"
    }


@pytest.mark.parametrize("path", ["readme.md", "docs/examples/greeting.md", ".hidden", "a..b"])
def test_safe_skill_file_paths_are_accepted(path: str) -> None:
    model = valid(SKILL_FILE.api_insert, {"skill_id": "s", "path": path, "content": "c"})
    assert model.path == path


def test_relation_type_enum() -> None:
    base = {"source_sub_agent_id": "a", "target_sub_agent_id": "b"}
    for value in ("transfer", "delegate"):
        assert valid(RELATION.api_insert, {**base, "relation_type": value})
    assert valid(RELATION.api_insert, base).relation_type == "transfer"
    assert rejects(RELATION.api_insert, {**base, "relation_type": "bogus"}) == {"relation_type"}


@pytest.mark.parametrize("kind", ["insert", "update", "api_insert", "api_update"])
def test_unknown_fields_are_rejected(kind: str) -> None:
    model = getattr(AGENT, kind)
    assert "nickname" in rejects(model, {"nickname": "x"})


def test_tool_config_content_is_typed() -> None:
    good = valid(
        TOOL.api_insert,
        {"id": "t", "name": "T", "config": {"mcp": {"server": {"url": "https://x"}}}},
    )
    assert isinstance(good.config, ToolConfig)
    assert good.config.mcp.transport.type == "streamable_http"
    for config, field in [
        ({"mcp": {}}, "config.mcp.server"),
        ({"type": "rest", "mcp": {"server": {"url": "u"}}}, "config.type"),
        ({"mcp": {"server": {"url": "u"}, "timeout_ms": 0}}, "config.mcp.timeout_ms"),
        ({"mcp": {"server": {"url": "u"}}, "surprise": True}, "config.surprise"),
        ([], "config"),
    ]:
        assert field in rejects(TOOL.api_insert, {"id": "t", "name": "T", "config": config})
    assert "headers.x" in rejects(TOOL.api_update, {"headers": {"x": 1}})


def test_tool_policies_are_parsed_into_tool_policy() -> None:
    parsed = valid(
        TOOL_RELATION.api_insert,
        {"tool_id": "t", "tool_policies": {"search": {"needs_approval": True}, "read": {}}},
    )
    assert parsed.tool_policies is not None
    assert all(isinstance(p, ToolPolicy) for p in parsed.tool_policies.values())
    assert parsed.tool_policies["search"].needs_approval is True
    assert parsed.tool_policies["read"].needs_approval is False
    assert rejects(
        TOOL_RELATION.api_insert, {"tool_id": "t", "tool_policies": {"x": {"needs_approval": "?"}}}
    ) == {"tool_policies.x.needs_approval"}
    assert rejects(TOOL_RELATION.api_update, {"tool_policies": {"x": {"auto": True}}}) == {
        "tool_policies.x.auto"
    }
