"""The run API over HTTP: conversations pinned to their configuration's ref, messages
walked by cursor, tasks and relations, references checked in the manage database,
agent-bound keys, and nothing of another project or tenant reachable."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.api import Caller, Service

RUN = "/run/v1"
HI = {"text": "hi"}


@dataclass
class Shop:
    """Tenant with project ``shop``: agents ``triage`` (sub-agents ``router`` and
    ``billing``) and ``sales`` (sub-agent ``closer``), a branch ``side``; runner keys."""

    tenant: str
    project: str
    admin: Caller
    runner: Caller
    bound: Caller  # a runner key bound to agent triage
    service: Service


async def _shop(service: Service) -> Shop:
    tenant = f"t-{secrets.token_hex(4)}"
    admin = await service.key(tenant, "admin")
    base = f"/manage/tenants/{tenant}/projects"
    assert (await admin.post(base, json={"id": "shop", "name": "Shop"})).status_code == 201
    project = f"{base}/shop"
    for agent, subs in (("triage", ("router", "billing")), ("sales", ("closer",))):
        made = await admin.post(f"{project}/agents", json={"id": agent, "name": agent})
        assert made.status_code == 201, made.text
        for sub in subs:
            url = f"{project}/agents/{agent}/sub-agents"
            assert (await admin.post(url, json={"id": sub, "name": sub})).status_code == 201
    assert (await admin.post(f"{project}/branches", json={"name": "side"})).status_code == 201
    return Shop(
        tenant=tenant,
        project=project,
        admin=admin,
        runner=await service.key(tenant, "runner", project="shop"),
        bound=await service.key(tenant, "runner", project="shop", agent="triage"),
        service=service,
    )


async def _head(shop: Shop, branch: str = "main") -> str:
    found = await shop.admin.get(f"{shop.project}/branches/{branch}")
    assert found.status_code == 200, found.text
    head: str = found.json()["head"]
    return head


async def _created(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _refused(answer: httpx.Response, *fields: str) -> None:
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["code"] == "invalid_reference"
    assert [e["field"] for e in problem["errors"]] == list(fields)


async def _ids(caller: Caller, url: str, **params: Any) -> list[str]:
    listed = await caller.get(url, params={"limit": 100, **params})
    assert listed.status_code == 200, listed.text
    return [r["id"] for r in listed.json()["data"]]


async def test_conversation_records_its_ref_and_walks_messages_by_cursor(
    service: Service,
) -> None:
    shop = await _shop(service)
    made = await _created(
        await shop.runner.post(
            f"{RUN}/conversations",
            json={"agent_id": "triage", "active_sub_agent_id": "router", "title": "Help"},
        )
    )
    assert made["ref"] == {"branch": "main", "commit": await _head(shop)}
    url = f"{RUN}/conversations/{made['id']}"
    assert (await shop.runner.get(url)).json() == made
    on_side = await _created(
        await shop.runner.post(
            f"{RUN}/conversations", json={"agent_id": "sales"}, headers={"x-agentfold-ref": "side"}
        )
    )
    assert on_side["ref"] == {"branch": "side", "commit": await _head(shop, "side")}
    assert set(await _ids(shop.runner, f"{RUN}/conversations")) == {made["id"], on_side["id"]}

    sent = []
    for n in range(23):
        body: dict[str, Any] = {"role": "user", "content": {"text": f"message {n}"}}
        if n % 5 == 0:
            body.update(role="agent", from_sub_agent_id="router", to_sub_agent_id="billing")
        sent.append((await _created(await shop.runner.post(f"{url}/messages", json=body)))["id"])

    walked: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 5} | ({"after": cursor} if cursor else {})
        page = await shop.runner.get(f"{url}/messages", params=params)
        assert page.status_code == 200, page.text
        walked += [m["id"] for m in page.json()["data"]]
        cursor = page.json()["next_cursor"]
        pages += 1
        if cursor is None:
            break
    assert walked == sent
    assert pages == 5
    first = (await shop.runner.get(f"{url}/messages")).json()["data"][0]
    assert first["content"]["text"] == "message 0"
    assert first["from_sub_agent_id"] == "router"


async def test_tasks_relations_events_feedback_and_context_cache(service: Service) -> None:
    shop = await _shop(service)
    parent = await _created(
        await shop.runner.post(
            f"{RUN}/tasks", json={"agent_id": "triage", "sub_agent_id": "router"}
        )
    )
    assert parent["ref"] == {"branch": "main", "commit": await _head(shop)}
    child = await _created(
        await shop.runner.post(
            f"{RUN}/tasks",
            json={"agent_id": "triage", "sub_agent_id": "billing", "status": "working"},
            params={"ref": "side"},
        )
    )
    assert child["ref"]["branch"] == "side"
    assert (await shop.runner.get(f"{RUN}/tasks/{child['id']}")).json() == child
    assert set(await _ids(shop.runner, f"{RUN}/tasks")) == {parent["id"], child["id"]}
    link = {"parent_task_id": parent["id"], "child_task_id": child["id"]}
    relation = await _created(await shop.runner.post(f"{RUN}/task-relations", json=link))
    assert relation["relation_type"] == "parent_child"
    assert await _ids(shop.runner, f"{RUN}/task-relations") == [relation["id"]]
    assert await _ids(shop.runner, f"{RUN}/task-relations", child_task_id=parent["id"]) == []
    dangling = await shop.runner.post(
        f"{RUN}/task-relations", json={**link, "child_task_id": "nope"}
    )
    _refused(dangling, "child_task_id")

    conversation = await _created(
        await shop.runner.post(f"{RUN}/conversations", json={"agent_id": "triage"})
    )
    url = f"{RUN}/conversations/{conversation['id']}"
    message = await _created(
        await shop.runner.post(f"{url}/messages", json={"role": "user", "content": HI})
    )
    event = await _created(
        await shop.runner.post(f"{url}/events", json={"type": "turn", "payload": {"n": 1}})
    )
    assert await _ids(shop.runner, f"{url}/events") == [event["id"]]
    verdict = await _created(
        await shop.runner.post(
            f"{url}/feedback", json={"message_id": message["id"], "kind": "positive"}
        )
    )
    assert verdict["conversation_id"] == conversation["id"]
    assert await _ids(shop.runner, f"{url}/feedback") == [verdict["id"]]
    elsewhere = await _created(
        await shop.runner.post(f"{RUN}/conversations", json={"agent_id": "triage"})
    )
    misplaced = await shop.runner.post(
        f"{RUN}/conversations/{elsewhere['id']}/feedback",
        json={"message_id": message["id"], "kind": "negative"},
    )
    _refused(misplaced, "message_id")
    assert await _ids(shop.runner, f"{url}/context-cache") == []
    assert (await shop.runner.get(f"{url}/context-cache/nothing")).status_code == 404


async def test_unknown_manage_entities_are_refused_and_nothing_is_written(
    service: Service,
) -> None:
    shop = await _shop(service)
    conversations = f"{RUN}/conversations"
    _refused(await shop.runner.post(conversations, json={"agent_id": "ghost"}), "agent_id")
    # A sub-agent of another agent is not one of this agent's.
    wrong_sub = {"agent_id": "triage", "active_sub_agent_id": "closer"}
    _refused(await shop.runner.post(conversations, json=wrong_sub), "active_sub_agent_id")
    odd_id = {"agent_id": "triage", "active_sub_agent_id": "no such"}
    _refused(await shop.runner.post(conversations, json=odd_id), "active_sub_agent_id")
    assert await _ids(shop.runner, conversations) == []
    missing_ref = await shop.runner.post(
        conversations, json={"agent_id": "triage"}, params={"ref": "nope"}
    )
    assert missing_ref.status_code == 404

    made = await _created(await shop.runner.post(conversations, json={"agent_id": "triage"}))
    messages = f"{conversations}/{made['id']}/messages"
    for field in ("from_sub_agent_id", "to_sub_agent_id"):
        answer = await shop.runner.post(
            messages, json={"role": "agent", "content": HI, field: "ghost"}
        )
        _refused(answer, field)
    external = await shop.runner.post(
        messages, json={"role": "agent", "content": HI, "from_external_agent_id": "ghost"}
    )
    _refused(external, "from_external_agent_id")
    assert (await shop.runner.get(messages)).json() == {"data": [], "next_cursor": None}

    tasks = f"{RUN}/tasks"
    _refused(
        await shop.runner.post(tasks, json={"agent_id": "ghost", "sub_agent_id": "router"}),
        "agent_id",
        "sub_agent_id",  # no agent ghost, so no sub-agent router of it either
    )
    ghost_sub = await shop.runner.post(tasks, json={"agent_id": "triage", "sub_agent_id": "ghost"})
    _refused(ghost_sub, "sub_agent_id")
    no_agent = await shop.runner.post(tasks, json={"sub_agent_id": "router"})
    assert no_agent.status_code == 422
    assert no_agent.json()["errors"][0]["field"] == "agent_id"
    assert await _ids(shop.runner, tasks) == []


async def test_messages_check_sub_agents_at_the_recorded_commit(service: Service) -> None:
    shop = await _shop(service)
    made = await _created(
        await shop.runner.post(f"{RUN}/conversations", json={"agent_id": "triage"})
    )
    recorded = made["ref"]["commit"]
    sub_agents = f"{shop.project}/agents/triage/sub-agents"
    # The branch moves on: router goes, a newcomer arrives.
    assert (await shop.admin.delete(f"{sub_agents}/router")).status_code == 204
    added = await shop.admin.post(sub_agents, json={"id": "newcomer", "name": "N"})
    assert added.status_code == 201
    assert await _head(shop) != recorded

    messages = f"{RUN}/conversations/{made['id']}/messages"
    kept = await shop.runner.post(
        messages, json={"role": "agent", "content": HI, "from_sub_agent_id": "router"}
    )
    assert kept.status_code == 201, kept.text
    later = await shop.runner.post(
        messages, json={"role": "agent", "content": HI, "to_sub_agent_id": "newcomer"}
    )
    _refused(later, "to_sub_agent_id")
    # A conversation started now runs against the new head.
    fresh = await _created(
        await shop.runner.post(f"{RUN}/conversations", json={"agent_id": "triage"})
    )
    assert fresh["ref"]["commit"] == await _head(shop)
    now = f"{RUN}/conversations/{fresh['id']}/messages"
    assert (
        await shop.runner.post(
            now, json={"role": "agent", "content": HI, "to_sub_agent_id": "newcomer"}
        )
    ).status_code == 201
    _refused(
        await shop.runner.post(
            now, json={"role": "agent", "content": HI, "from_sub_agent_id": "router"}
        ),
        "from_sub_agent_id",
    )


async def test_a_key_bound_to_an_agent_reaches_only_that_agent(service: Service) -> None:
    shop = await _shop(service)
    theirs = await _created(
        await shop.runner.post(f"{RUN}/conversations", json={"agent_id": "sales"})
    )
    their_task = await _created(
        await shop.runner.post(f"{RUN}/tasks", json={"agent_id": "sales", "sub_agent_id": "closer"})
    )
    other_agent = await shop.bound.post(f"{RUN}/conversations", json={"agent_id": "sales"})
    assert other_agent.status_code == 403
    assert other_agent.json()["code"] == "forbidden"
    ours = await _created(await shop.bound.post(f"{RUN}/conversations", json={}))
    assert ours["agent_id"] == "triage"
    assert await _ids(shop.bound, f"{RUN}/conversations") == [ours["id"]]
    for suffix in ("", "/messages", "/events", "/feedback", "/context-cache"):
        hidden = await shop.bound.get(f"{RUN}/conversations/{theirs['id']}{suffix}")
        assert hidden.status_code == 404, suffix
    appended = await shop.bound.post(
        f"{RUN}/conversations/{theirs['id']}/messages", json={"role": "user", "content": HI}
    )
    assert appended.status_code == 404

    task = await _created(await shop.bound.post(f"{RUN}/tasks", json={"sub_agent_id": "router"}))
    assert task["agent_id"] == "triage"
    sales_task = await shop.bound.post(
        f"{RUN}/tasks", json={"agent_id": "sales", "sub_agent_id": "closer"}
    )
    assert sales_task.status_code == 403
    assert await _ids(shop.bound, f"{RUN}/tasks") == [task["id"]]
    assert (await shop.bound.get(f"{RUN}/tasks/{their_task['id']}")).status_code == 404
    link = {"parent_task_id": task["id"], "child_task_id": their_task["id"]}
    _refused(await shop.bound.post(f"{RUN}/task-relations", json=link), "child_task_id")
    assert (await shop.bound.get(f"{RUN}/task-relations")).status_code == 422
    relations = await shop.bound.get(f"{RUN}/task-relations", params={"parent_task_id": task["id"]})
    assert relations.status_code == 200
    hidden_relations = await shop.bound.get(
        f"{RUN}/task-relations", params={"parent_task_id": their_task["id"]}
    )
    assert hidden_relations.status_code == 404


BODIES: dict[str, Any] = {
    "conversations": {"agent_id": "triage"},
    "messages": {"role": "user", "content": HI},
    "events": {"type": "turn"},
    "feedback": {"message_id": "m", "kind": "positive"},
    "tasks": {"agent_id": "triage", "sub_agent_id": "router"},
    "task-relations": {"parent_task_id": "a", "child_task_id": "b"},
    "runs": {"agent_id": "triage"},
    "finish": {"status": "completed"},
    "steps": {"step_number": 2},
    "llm-calls": {"provider": "p", "model": "m", "cost": "1"},
    "tool-calls": {"kind": "function", "name": "f"},
    "{step_id}": {"status": "completed"},
}


def _run_operations(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in document["paths"].items()
        if path.startswith(RUN)
        for method in item
        if method in {"get", "post", "patch"}
    ]


async def test_run_routes_of_another_project_or_tenant_answer_404(service: Service) -> None:
    shop = await _shop(service)
    admin = shop.admin
    assert (
        await admin.post(
            f"/manage/tenants/{shop.tenant}/projects", json={"id": "other", "name": "O"}
        )
    ).status_code == 201
    await admin.post(
        f"/manage/tenants/{shop.tenant}/projects/other/agents", json={"id": "triage", "name": "T"}
    )
    # The other tenant has a project ``shop`` with an agent ``triage`` too.
    elsewhere = f"u-{shop.tenant}"
    their_admin = await service.key(elsewhere, "admin")
    their_projects = f"/manage/tenants/{elsewhere}/projects"
    assert (
        await their_admin.post(their_projects, json={"id": "shop", "name": "S"})
    ).status_code == 201
    await their_admin.post(f"{their_projects}/shop/agents", json={"id": "triage", "name": "T"})
    strangers = {
        "other project": await service.key(shop.tenant, "runner", project="other"),
        "other tenant": await service.key(elsewhere, "runner", project="shop"),
    }
    conversation = await _created(
        await shop.runner.post(f"{RUN}/conversations", json={"agent_id": "triage"})
    )
    task = await _created(
        await shop.runner.post(
            f"{RUN}/tasks", json={"agent_id": "triage", "sub_agent_id": "router"}
        )
    )
    run = await _created(await shop.runner.post(f"{RUN}/runs", json={"agent_id": "triage"}))
    step = await _created(
        await shop.runner.post(f"{RUN}/runs/{run['id']}/steps", json={"step_number": 1})
    )
    ids = {
        "conversation_id": conversation["id"],
        "task_id": task["id"],
        "run_id": run["id"],
        "step_id": step["id"],
    }
    document = (await service.anonymous.get("/openapi.json")).json()
    operations = _run_operations(document)
    assert len(operations) == 24

    async def state() -> list[Any]:
        return [
            await _ids(shop.runner, f"{RUN}/conversations"),
            await _ids(shop.runner, f"{RUN}/tasks"),
            (await shop.runner.get(f"{RUN}/conversations/{conversation['id']}/messages")).json(),
            (await shop.runner.get(f"{RUN}/runs/{run['id']}")).json(),
            await _ids(shop.admin, f"{shop.project}/runs"),
            await _ids(shop.admin, f"{shop.project}/runs/{run['id']}/steps"),
            await _ids(shop.admin, f"{shop.project}/runs/{run['id']}/llm-calls"),
            await _ids(shop.admin, f"{shop.project}/runs/{run['id']}/tool-calls"),
        ]

    before = await state()
    failures = []
    for name, stranger in strangers.items():
        for method, path in operations:
            url = re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "some-id"), path)
            # A valid body: the answer must not depend on what was sent.
            body = BODIES.get(path.rsplit("/", 1)[-1]) if method != "GET" else None
            answer = await stranger.request(method, url, json=body)
            if "{" in path:
                if answer.status_code != 404 or answer.json()["code"] != "not_found":
                    failures.append(f"{name}: {method} {path} -> {answer.status_code}")
            elif method == "GET" and any(
                ids[n] in answer.text for n in ("conversation_id", "run_id")
            ):
                failures.append(f"{name}: {method} {path} shows the shop's rows")
        # Naming the shop's tasks from elsewhere names nothing.
        link = {"parent_task_id": task["id"], "child_task_id": task["id"]}
        answer = await stranger.post(f"{RUN}/task-relations", json=link)
        _refused(answer, "parent_task_id", "child_task_id")
    assert failures == []
    assert await state() == before


async def test_manage_keys_may_not_call_run_routes(service: Service) -> None:
    shop = await _shop(service)
    callers = {
        "operator": service.operator,
        "admin": shop.admin,
        "editor": await service.key(shop.tenant, "editor", project="shop"),
        "viewer": await service.key(shop.tenant, "viewer", project="shop"),
    }
    document = (await service.anonymous.get("/openapi.json")).json()
    wrong = []
    for role, caller in callers.items():
        for method, path in _run_operations(document):
            url = re.sub(r"\{(\w+)\}", "x", path)
            answer = await caller.request(method, url, json={})
            if answer.status_code != 403:
                wrong.append(f"{role}: {method} {path} -> {answer.status_code}")
    assert wrong == []
    assert await _ids(shop.runner, f"{RUN}/conversations") == []


async def test_failures_are_problems(service: Service) -> None:
    shop = await _shop(service)
    made = await _created(
        await shop.runner.post(f"{RUN}/conversations", json={"agent_id": "triage"})
    )
    messages = f"{RUN}/conversations/{made['id']}/messages"
    for cursor in ("garbage", "eyJhIjoxfQ", "W10", "WyJ4IiwieSJd"):
        bad = await shop.runner.get(messages, params={"after": cursor})
        assert bad.status_code == 422, cursor
        assert bad.json()["code"] == "validation_failed"
        assert bad.json()["errors"][0]["field"] == "after"
    too_long = await shop.runner.get(messages, params={"after": "x" * 600})
    assert 400 <= too_long.status_code < 500
    assert (await shop.runner.get(messages, params={"limit": 0})).status_code == 400

    unknown = await shop.runner.get(f"{RUN}/conversations", params={"bogus": "1"})
    assert 400 <= unknown.status_code < 500
    assert unknown.json()["errors"][0]["field"] == "query.bogus"

    for body in (
        {"content": {"text": "no role"}},
        {"role": "user", "content": HI, "conversation_id": "x"},
        {"role": "user"},
        {"role": "boss"},
    ):
        bad_body = await shop.runner.post(messages, json=body)
        assert bad_body.status_code == 422, body
        assert bad_body.json()["code"] == "validation_failed"
    refs = await shop.runner.post(
        f"{RUN}/conversations", json={"agent_id": "triage", "ref": {"branch": "x"}}
    )
    assert refs.status_code == 422
    malformed = await shop.runner.post(
        f"{RUN}/conversations", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert 400 <= malformed.status_code < 500
    duplicate = await shop.runner.post(
        f"{RUN}/conversations", json={"id": made["id"], "agent_id": "triage"}
    )
    assert duplicate.status_code == 409
    assert (await shop.runner.get(messages)).json()["data"] == []
