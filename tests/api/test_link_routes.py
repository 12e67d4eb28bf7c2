"""Links by target id (link, unlink) and "used by" for every link kind."""

from __future__ import annotations

import secrets

from agentfold_core.data_access.manage.sub_agent_links import LINKS
from tests.support.api import Service
from tests.support.project_document import realistic_project


async def test_link_unlink_and_used_by(service: Service) -> None:
    tenant = f"t-{secrets.token_hex(4)}"
    admin = await service.key(tenant, "admin")
    put = await admin.put(
        f"/manage/tenants/{tenant}/project-full/shop", json=realistic_project("shop")
    )
    assert put.status_code == 200, put.text
    project = f"/manage/tenants/{tenant}/projects/shop"
    router = f"{project}/agents/triage/sub-agents/router"

    users = await admin.get(f"{project}/tools/zendesk/used-by")
    assert users.status_code == 200
    assert [(u["agent_id"], u["sub_agent_id"]) for u in users.json()] == [
        ("escalation", "specialist"),
        ("triage", "router"),
    ]
    assert users.json()[1]["selected_tools"] == ["search_tickets"]

    users_of_crm_before = (await admin.get(f"{project}/tools/crm/used-by")).json()
    assert ("triage", "router") not in {
        (u["agent_id"], u["sub_agent_id"]) for u in users_of_crm_before
    }
    crm = await admin.put(f"{router}/tools/crm", json={"selected_tools": ["lookup"]})
    assert crm.status_code == 200, crm.text
    assert crm.json()["tool_id"] == "crm"
    assert crm.json()["selected_tools"] == ["lookup"]
    before = {(u["agent_id"], u["sub_agent_id"]) for u in users_of_crm_before}
    users = await admin.get(f"{project}/tools/crm/used-by")
    assert {(u["agent_id"], u["sub_agent_id"]) for u in users.json()} == before | {
        ("triage", "router")
    }

    assert (await admin.delete(f"{router}/tools/crm")).status_code == 204
    after = (await admin.get(f"{project}/tools/crm/used-by")).json()
    assert {(u["agent_id"], u["sub_agent_id"]) for u in after} == before
    assert (await admin.delete(f"{router}/tools/crm")).status_code == 404
    dangling = await admin.put(f"{router}/tools/no-such-tool", json={})
    assert dangling.status_code == 422
    assert dangling.json()["code"] == "invalid_reference"

    team = await admin.get(f"{project}/agents/escalation/used-by")
    assert [(u["agent_id"], u["sub_agent_id"]) for u in team.json()] == [("triage", "tech")]
    functions = await admin.get(f"{project}/agents/triage/function-tools/refund/used-by")
    assert [u["sub_agent_id"] for u in functions.json()] == ["billing"]


async def test_every_link_kind_has_its_routes(service: Service) -> None:
    document = (await service.anonymous.get("/openapi.json")).json()
    operations = {op["operationId"] for item in document["paths"].values() for op in item.values()}
    for link in LINKS:
        label = link.target.removesuffix("_id")
        assert {f"link_{label}", f"unlink_{label}", f"list_users_of_{label}"} <= operations
