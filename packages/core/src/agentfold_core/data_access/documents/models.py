"""Pydantic models of the project and agent documents, generated from the graph."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from agentfold_core.data_access.documents.tree import AGENT_NODE, PROJECT_NODE, Node

_CONFIG = ConfigDict(extra="forbid")


@cache
def document_fields(node: Node) -> tuple[str, ...]:
    """The row fields a node's objects carry in a document (no scope, no timestamps)."""
    fields = node.entity.models.api_insert.model_fields
    hidden = {*node.link_columns, *(("id",) if node.entity.traits.derived_id else ())}
    return tuple(n for n in fields if n not in hidden)


@cache
def document_model(node: Node) -> type[BaseModel]:
    """The validation model of one node's object, children included."""
    base = node.entity.models.api_insert
    fields: dict[str, Any] = {
        name: (info.annotation, info)
        for name, info in base.model_fields.items()
        if name in document_fields(node)
    }
    for child in node.children:
        child_model = document_model(child)
        if child.keyed:
            fields[child.key] = (dict[str, child_model], Field(default_factory=dict))  # type: ignore[valid-type]
        else:
            fields[child.key] = (list[child_model], Field(default_factory=list))  # type: ignore[valid-type]
    name = "Full" + type_name(node)
    return create_model(name, __config__=_CONFIG, **fields)


def type_name(node: Node) -> str:
    """CamelCase name of a node, e.g. ``SubAgentTool`` for sub-agent tool links."""
    return node.entity.table.name.title().replace("_", "")


def full_project_model() -> type[BaseModel]:
    """The model of a whole project document."""
    return document_model(PROJECT_NODE)


def full_agent_model() -> type[BaseModel]:
    """The model of one agent's document."""
    return document_model(AGENT_NODE)
