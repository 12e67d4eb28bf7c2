"""The realistic project built over HTTP two ways, through the individual routes and
through ``project-full``, exports the same document."""

from __future__ import annotations

import secrets
from typing import Any

from agentfold_core.data_access.documents.tree import PROJECT_NODE, Node
from agentfold_core.data_access.registry import REGISTRY
from agentfold_core.db.columns import ScopeLevel
from tests.support.api import Caller, Service
from tests.support.project_document import realistic_project

# An agent's soft references name rows created after it: set them last.
SOFT = ("default_sub_agent_id", "context_config_id")


def _url(base: str, node: Node, ids: dict[str, str]) -> str:
    entry = REGISTRY.table(node.entity.traits.name)
    url = base
    if entry.level in (ScopeLevel.AGENT, ScopeLevel.SUB_AGENT):
        url += f"/agents/{ids['agent_id']}"
    if entry.level is ScopeLevel.SUB_AGENT:
        url += f"/sub-agents/{ids['sub_agent_id']}"
    return f"{url}/{entry.path}"


def _rows(node: Node, raw: Any) -> list[tuple[str | None, dict[str, Any]]]:
    if node.keyed:
        return [(row_id, dict(obj)) for row_id, obj in raw.items()]
    return [(None, dict(obj)) for obj in raw]


async def _build(caller: Caller, base: str, document: dict[str, Any]) -> None:
    """Create every row with one request each, parents before children, depth by depth."""
    level: list[tuple[Node, dict[str, Any], dict[str, str]]] = [(PROJECT_NODE, document, {})]
    patches: list[tuple[str, dict[str, Any]]] = []
    while level:
        following = []
        for node, obj, ids in level:
            for child in node.children:
                for row_id, row in _rows(child, obj.get(child.key, {} if child.keyed else [])):
                    nested = {c.key: row.pop(c.key) for c in child.children if c.key in row}
                    body = dict(row)
                    if row_id is not None:
                        body["id"] = row_id
                    for column in child.link_columns:
                        if column not in ("agent_id", "sub_agent_id"):
                            body[column] = ids[column]  # a skill file's skill
                    soft = {k: body.pop(k) for k in SOFT if child.key == "agents" and k in body}
                    url = _url(base, child, ids)
                    made = await caller.post(url, json=body)
                    assert made.status_code == 201, (url, made.text)
                    if soft:
                        patches.append((f"{url}/{row_id}", soft))
                    link = {**ids}
                    if child.key == "agents":
                        link["agent_id"] = str(row_id)
                    elif child.key == "sub_agents":
                        link["sub_agent_id"] = str(row_id)
                    link[f"{child.entity.label}_id"] = str(row_id)
                    following.append((child, {**row, **nested}, link))
        level = following
    for url, soft in patches:
        changed = await caller.patch(url, json=soft)
        assert changed.status_code == 200, changed.text


async def test_individual_routes_and_project_full_export_the_same(service: Service) -> None:
    tenant = f"t-{secrets.token_hex(4)}"
    admin = await service.key(tenant, "admin")
    projects = f"/manage/tenants/{tenant}/projects"

    put = await admin.put(
        f"/manage/tenants/{tenant}/project-full/whole", json=realistic_project("whole")
    )
    assert put.status_code == 200, put.text
    assert put.json()["created"]["agents"] == 3

    document = realistic_project("pieces")
    head = {k: document[k] for k in ("id", "name", "description", "models", "stop_when")}
    assert (await admin.post(projects, json=head)).status_code == 201
    await _build(admin, f"{projects}/pieces", document)

    whole = (await admin.get(f"/manage/tenants/{tenant}/project-full/whole")).json()
    pieces = (await admin.get(f"/manage/tenants/{tenant}/project-full/pieces")).json()
    assert whole.pop("id") == "whole"
    assert pieces.pop("id") == "pieces"
    assert pieces == whole

    for project in ("whole", "pieces"):
        agent = await admin.get(f"{projects}/{project}/agents/triage/full")
        assert agent.status_code == 200
        assert agent.json() == whole["agents"]["triage"] | {"id": "triage"}
