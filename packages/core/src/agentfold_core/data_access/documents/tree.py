"""The shape of a project as one document: which entity nests under which, and how.

A node is an entity placed in the tree. ``link_columns`` are the child's columns that
hold the ids of its ancestors on the path (``agent_id`` under an agent, ``agent_id,
sub_agent_id`` under a sub-agent, ``skill_id`` under a skill). Keyed nodes appear as
``{id: object}``; link nodes (relation rows with derived ids) appear as lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentfold_core.data_access.crud import Entity
from agentfold_core.data_access.manage.agents import (
    AGENTS,
    CONTEXT_CONFIGS,
    SUB_AGENT_RELATIONS,
    SUB_AGENTS,
)
from agentfold_core.data_access.manage.components import ARTIFACT_COMPONENTS, DATA_COMPONENTS
from agentfold_core.data_access.manage.credentials import CREDENTIAL_REFERENCES
from agentfold_core.data_access.manage.projects import PROJECTS
from agentfold_core.data_access.manage.skills import SKILL_FILES, SKILLS
from agentfold_core.data_access.manage.sub_agent_links import (
    SUB_AGENT_ARTIFACT_COMPONENTS,
    SUB_AGENT_DATA_COMPONENTS,
    SUB_AGENT_EXTERNAL_AGENTS,
    SUB_AGENT_FUNCTION_TOOLS,
    SUB_AGENT_SKILLS,
    SUB_AGENT_TEAM_AGENTS,
    SUB_AGENT_TOOLS,
)
from agentfold_core.data_access.manage.tools import (
    EXTERNAL_AGENTS,
    FUNCTION_TOOLS,
    FUNCTIONS,
    TOOLS,
)
from agentfold_core.data_access.manage.triggers import TRIGGERS


# Nodes are compared and hashed by identity: they key dicts on every document
# operation, and hashing the whole subtree each time would cost more than the work.
@dataclass(frozen=True, eq=False)
class Node:
    """An entity at one place of the project document."""

    key: str
    entity: Entity[Any]
    link_columns: tuple[str, ...] = ()
    children: tuple[Node, ...] = field(default=())

    @property
    def keyed(self) -> bool:
        """Whether the node's rows appear as ``{id: object}`` (else as a list)."""
        return not self.entity.traits.derived_id

    def walk(self) -> list[Node]:
        """This node and all below it, parents before children."""
        return [self, *(n for child in self.children for n in child.walk())]


def _links(*pairs: tuple[str, Entity[Any]]) -> tuple[Node, ...]:
    return tuple(Node(key, entity, ("agent_id", "sub_agent_id")) for key, entity in pairs)


SUB_AGENT_NODE = Node(
    "sub_agents",
    SUB_AGENTS,
    ("agent_id",),
    _links(
        ("tools", SUB_AGENT_TOOLS),
        ("function_tools", SUB_AGENT_FUNCTION_TOOLS),
        ("external_agents", SUB_AGENT_EXTERNAL_AGENTS),
        ("team_agents", SUB_AGENT_TEAM_AGENTS),
        ("data_components", SUB_AGENT_DATA_COMPONENTS),
        ("artifact_components", SUB_AGENT_ARTIFACT_COMPONENTS),
        ("skills", SUB_AGENT_SKILLS),
    ),
)

AGENT_NODE = Node(
    "agents",
    AGENTS,
    (),
    (
        SUB_AGENT_NODE,
        Node("sub_agent_relations", SUB_AGENT_RELATIONS, ("agent_id",)),
        Node("context_configs", CONTEXT_CONFIGS, ("agent_id",)),
        Node("function_tools", FUNCTION_TOOLS, ("agent_id",)),
        Node("triggers", TRIGGERS, ("agent_id",)),
    ),
)

PROJECT_NODE = Node(
    "project",
    PROJECTS,
    (),
    (
        Node("credential_references", CREDENTIAL_REFERENCES),
        Node("tools", TOOLS),
        Node("functions", FUNCTIONS),
        Node("external_agents", EXTERNAL_AGENTS),
        Node("data_components", DATA_COMPONENTS),
        Node("artifact_components", ARTIFACT_COMPONENTS),
        Node("skills", SKILLS, (), (Node("files", SKILL_FILES, ("skill_id",)),)),
        AGENT_NODE,
    ),
)
