"""An agent's default sub-agent and context config: checked on write, cleared on delete."""

from __future__ import annotations

import pytest

from agentfold_core.data_access.manage.agents import (
    create_agent,
    create_context_config,
    create_sub_agent,
    delete_context_config,
    delete_sub_agent,
    get_agent,
    update_agent,
    upsert_agent,
)
from agentfold_core.data_access.project_lifecycle import create_project
from agentfold_core.errors import InvalidReference
from agentfold_core.scopes import AgentScope, ProjectScope, TenantScope
from tests.conftest import Ids
from tests.support.databases import TestDatabases


async def _agent_with_children(databases: TestDatabases, ids: Ids) -> ProjectScope:
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    scope = ProjectScope(ids.tenant, ids.project)
    await create_agent(databases.manage)(scopes=scope, data={"id": "a", "name": "A"})
    agent = AgentScope(ids.tenant, ids.project, "a")
    await create_sub_agent(databases.manage)(scopes=agent, data={"id": "s", "name": "S"})
    await create_context_config(databases.manage)(scopes=agent, data={"id": "c"})
    return scope


async def test_missing_targets_are_rejected(databases: TestDatabases, ids: Ids) -> None:
    scope = await _agent_with_children(databases, ids)
    manage = databases.manage
    with pytest.raises(InvalidReference):
        await update_agent(manage)(scopes=scope, agent_id="a", data={"default_sub_agent_id": "x"})
    with pytest.raises(InvalidReference):
        await update_agent(manage)(scopes=scope, agent_id="a", data={"context_config_id": "x"})
    with pytest.raises(InvalidReference):
        await create_agent(manage)(
            scopes=scope, data={"id": "b", "name": "B", "default_sub_agent_id": "s"}
        )
    with pytest.raises(InvalidReference):
        await upsert_agent(manage)(
            scopes=scope, data={"id": "a", "name": "A", "context_config_id": "nope"}
        )
    agent = await get_agent(manage)(scopes=scope, agent_id="a")
    assert agent is not None
    assert (agent.default_sub_agent_id, agent.context_config_id) == (None, None)
    assert await get_agent(manage)(scopes=scope, agent_id="b") is None


async def test_deleting_targets_clears_the_agent(databases: TestDatabases, ids: Ids) -> None:
    scope = await _agent_with_children(databases, ids)
    manage = databases.manage
    updated = await update_agent(manage)(
        scopes=scope, agent_id="a", data={"default_sub_agent_id": "s", "context_config_id": "c"}
    )
    assert updated is not None
    assert (updated.default_sub_agent_id, updated.context_config_id) == ("s", "c")

    agent = AgentScope(ids.tenant, ids.project, "a")
    assert await delete_sub_agent(manage)(scopes=agent, sub_agent_id="s")
    assert await delete_context_config(manage)(scopes=agent, context_config_id="c")
    after = await get_agent(manage)(scopes=scope, agent_id="a")
    assert after is not None
    assert (after.default_sub_agent_id, after.context_config_id) == (None, None)
    assert after.updated_at > updated.updated_at
