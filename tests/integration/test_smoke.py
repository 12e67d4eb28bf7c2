from agentfold_core.data_access.manage.agents import create_agent, get_agent, list_agents
from agentfold_core.data_access.projects import create_project
from agentfold_core.scopes import ProjectScope, TenantScope


async def test_smoke(databases, ids):
    p = await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    s = ProjectScope(ids.tenant, ids.project)
    a = await create_agent(databases.manage)(scopes=s, data={"id": "a1", "name": "A"})
    got = await get_agent(databases.manage)(scopes=s, agent_id="a1")
    assert got == a
    page = await list_agents(databases.manage)(scopes=s)
    assert page.pagination.total == 1
