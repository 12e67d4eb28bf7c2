"""Run records over HTTP: runner keys start, beat, finish and record runs; readers see
runs, trees and usage; admins see credits the operator grants. Amounts are exact
decimal strings; every refusal is a problem document that changed nothing."""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from tests.support.api import Caller, Service

RUN = "/run/v1"
# root -> a, b ; a -> a1 (three levels), with the cost of each run's own calls.
TREE = {"root": None, "a": "root", "b": "root", "a1": "a"}
CALLS = {
    "root": [("anthropic", "m-large", "0.000000001"), ("openai", "m-small", "1.25")],
    "a": [("openai", "m-small", "0.333333333")],
    "b": [("anthropic", "m-large", "2"), ("anthropic", "m-small", "0.1")],
    "a1": [("openai", "m-large", "0.000000009"), ("openai", "m-large", "7.5")],
}


@dataclass
class Shop:
    """Tenant with projects ``shop`` (agents ``triage`` with sub-agent ``router``, and
    ``sales``) and ``other``; callers of every role."""

    tenant: str
    project: str
    admin: Caller
    editor: Caller
    viewer: Caller
    runner: Caller
    bound: Caller  # a runner key bound to agent triage
    other_runner: Caller  # a runner key of project other
    other_editor: Caller
    service: Service


async def _shop(service: Service) -> Shop:
    tenant = f"t-{secrets.token_hex(4)}"
    admin = await service.key(tenant, "admin")
    base = f"/manage/tenants/{tenant}/projects"
    for project in ("shop", "other"):
        made = await admin.post(base, json={"id": project, "name": project})
        assert made.status_code == 201, made.text
        for agent in ("triage", "sales"):
            await admin.post(f"{base}/{project}/agents", json={"id": agent, "name": agent})
    project = f"{base}/shop"
    sub = await admin.post(
        f"{project}/agents/triage/sub-agents", json={"id": "router", "name": "R"}
    )
    assert sub.status_code == 201
    assert (await admin.post(f"{project}/branches", json={"name": "side"})).status_code == 201
    return Shop(
        tenant=tenant,
        project=project,
        admin=admin,
        editor=await service.key(tenant, "editor", project="shop"),
        viewer=await service.key(tenant, "viewer", project="shop"),
        runner=await service.key(tenant, "runner", project="shop"),
        bound=await service.key(tenant, "runner", project="shop", agent="triage"),
        other_runner=await service.key(tenant, "runner", project="other"),
        other_editor=await service.key(tenant, "editor", project="other"),
        service=service,
    )


def _ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def _problem(answer: httpx.Response, status: int, code: str, *fields: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["code"] == code, problem
    if fields:
        assert [e["field"] for e in problem["errors"]] == list(fields), problem


async def _ids(caller: Caller, url: str, **params: Any) -> list[str]:
    page = _ok(await caller.get(url, params={"limit": 100, **params}))
    return [r["id"] for r in page["data"]]


async def _start(caller: Caller, **body: Any) -> dict[str, Any]:
    made: dict[str, Any] = _ok(await caller.post(f"{RUN}/runs", json=body), 201)
    return made


def _amount(value: Any) -> Decimal:
    # Amounts travel as strings, in fixed-point notation, never as JSON numbers.
    assert isinstance(value, str), value
    assert "e" not in value.lower(), value
    return Decimal(value)


def _chain(run_id: str) -> list[str]:
    parents: list[str] = []
    parent = TREE[run_id]
    while parent is not None:
        parents.insert(0, parent)
        parent = TREE[parent]
    return parents


async def test_a_three_level_tree_over_http_rolls_cost_up_exactly(service: Service) -> None:
    shop = await _shop(service)
    ids: dict[str, str] = {}
    for name, parent in TREE.items():
        body: dict[str, Any] = {"agent_id": "triage" if name != "b" else "sales"}
        if parent is not None:
            body["parent_run_id"] = ids[parent]
        if name == "a":
            body["sub_agent_id"] = "router"
        ids[name] = (await _start(shop.runner, **body))["id"]
    for name, calls in CALLS.items():
        step = _ok(
            await shop.runner.post(f"{RUN}/runs/{ids[name]}/steps", json={"step_number": 1}), 201
        )
        for provider, model, cost in calls:
            call = {
                "provider": provider,
                "model": model,
                "cost": cost,
                "credits": cost,
                "input_tokens": 10,
                "output_tokens": 3,
                "step_id": step["id"],
            }
            recorded = _ok(
                await shop.runner.post(f"{RUN}/runs/{ids[name]}/llm-calls", json=call), 201
            )
            assert _amount(recorded["cost"]) == Decimal(cost)
        beat = _ok(await shop.runner.post(f"{RUN}/runs/{ids[name]}/heartbeat"))
        assert beat["status"] == "running"
    # Children and parents finish in a mixed order: each roll-up reaches every ancestor.
    for name in ("a", "a1", "root", "b"):
        finished = _ok(
            await shop.runner.post(f"{RUN}/runs/{ids[name]}/finish", json={"status": "completed"})
        )
        assert finished["status"] == "completed"
        assert _amount(finished["cost"]) == sum(Decimal(c) for _, _, c in CALLS[name])

    own = {
        name: sum((Decimal(c) for _, _, c in calls), Decimal(0)) for name, calls in CALLS.items()
    }
    tree = _ok(await shop.viewer.get(f"{shop.project}/runs/{ids['root']}/tree"))["data"]
    assert tree[0]["id"] == ids["root"]
    assert {r["id"] for r in tree} == set(ids.values())
    by_id = {r["id"]: r for r in tree}
    for name, run_id in ids.items():
        run = by_id[run_id]
        expected = own[name] + sum((own[n] for n in TREE if name in _chain(n)), Decimal(0))
        assert _amount(run["subtree_cost"]) == expected, name
        assert _amount(run["subtree_credits"]) == expected, name
        assert run["ancestors"] == [ids[p] for p in _chain(name)]
        assert run["depth"] == len(_chain(name))
        assert run["root_run_id"] == ids["root"]
    assert _amount(by_id[ids["root"]]["subtree_cost"]) == sum(own.values())
    assert [
        r["id"] for r in _ok(await shop.editor.get(f"{shop.project}/runs/{ids['a']}/tree"))["data"]
    ] == [ids["a"], ids["a1"]]

    # Reads: pages with filters, one run, a run's steps and calls.
    assert set(await _ids(shop.viewer, f"{shop.project}/runs")) == set(ids.values())
    assert await _ids(shop.viewer, f"{shop.project}/runs", agent_id="sales") == [ids["b"]]
    children = await _ids(shop.viewer, f"{shop.project}/runs", parent_run_id=ids["root"])
    assert set(children) == {ids["a"], ids["b"]}
    assert await _ids(shop.viewer, f"{shop.project}/runs", status="running") == []
    got = _ok(await shop.admin.get(f"{shop.project}/runs/{ids['a1']}"))
    assert got == by_id[ids["a1"]]
    call_ids = await _ids(shop.viewer, f"{shop.project}/runs/{ids['b']}/llm-calls")
    assert len(call_ids) == 2
    assert len(await _ids(shop.viewer, f"{shop.project}/runs/{ids['b']}/steps")) == 1

    # Usage equals a Python aggregation of the same calls, for the project and the tenant.
    expected_usage: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 2)
    for calls_of_run in CALLS.values():
        for provider, model, cost in calls_of_run:
            expected_usage[(provider, model)][0] += Decimal(cost)
            expected_usage[(provider, model)][1] += 1
    for caller, url in (
        (shop.viewer, f"{shop.project}/usage"),
        (shop.admin, f"/manage/tenants/{shop.tenant}/usage"),
    ):
        report = _ok(await caller.get(url, params={"group_by": ["provider", "model"]}))
        assert report["group_by"] == ["model", "provider"]
        got_usage = {
            (r["provider"], r["model"]): [_amount(r["cost"]), r["calls"]] for r in report["data"]
        }
        assert got_usage == {k: [v[0], int(v[1])] for k, v in expected_usage.items()}
        total = _ok(await caller.get(url, params={"group_by": "none"}))["data"]
        assert len(total) == 1
        assert _amount(total[0]["cost"]) == sum(own.values())
        assert total[0]["input_tokens"] == 10 * sum(len(c) for c in CALLS.values())
    by_agent = _ok(await shop.viewer.get(f"{shop.project}/usage", params={"group_by": "agent"}))
    assert {r["agent_id"]: _amount(r["cost"]) for r in by_agent["data"]} == {
        "triage": own["root"] + own["a"] + own["a1"],
        "sales": own["b"],
    }
    today = datetime.now(UTC).date().isoformat()
    daily = _ok(await shop.viewer.get(f"{shop.project}/usage"))
    assert [r["day"] for r in daily["data"]] == [today]
    later = datetime.now(UTC) + timedelta(days=1)
    window = {"start": later.isoformat(), "end": (later + timedelta(days=1)).isoformat()}
    empty = _ok(await shop.viewer.get(f"{shop.project}/usage", params=window))
    assert empty["data"] == []


async def test_a_run_records_its_ref_and_children_inherit_it(service: Service) -> None:
    shop = await _shop(service)
    side = _ok(await shop.admin.get(f"{shop.project}/branches/side"))["head"]
    root = await _start(shop.runner, agent_id="triage", status="queued")
    assert root["ref"]["branch"] == "main"
    assert root["status"] == "queued"
    assert root["started_at"] is None
    on_side = _ok(
        await shop.runner.post(f"{RUN}/runs", json={"agent_id": "triage"}, params={"ref": "side"}),
        201,
    )
    assert on_side["ref"] == {"branch": "side", "commit": side}
    assert on_side["status"] == "running"
    assert on_side["heartbeat_at"] is not None
    child = await _start(shop.runner, agent_id="sales", parent_run_id=on_side["id"])
    assert child["ref"] == on_side["ref"]
    assert (child["depth"], child["root_run_id"]) == (1, on_side["id"])
    # A child's ref is its parent's: naming another is refused.
    named = await shop.runner.post(
        f"{RUN}/runs",
        json={"agent_id": "triage", "parent_run_id": on_side["id"]},
        params={"ref": "main"},
    )
    _problem(named, 422, "validation_failed", "ref")
    conversation = _ok(
        await shop.runner.post(
            f"{RUN}/conversations", json={"agent_id": "triage"}, params={"ref": "side"}
        ),
        201,
    )
    in_conversation = await _start(
        shop.runner, agent_id="triage", conversation_id=conversation["id"]
    )
    assert in_conversation["ref"] == conversation["ref"]
    got = _ok(await shop.runner.get(f"{RUN}/runs/{child['id']}"))
    assert got == child
    # A queued run becomes running with its first heartbeat.
    beat = _ok(await shop.runner.post(f"{RUN}/runs/{root['id']}/heartbeat"))
    assert (beat["status"], beat["started_at"] is not None) == ("running", True)


async def test_refused_writes_are_problems_and_write_nothing(service: Service) -> None:
    shop = await _shop(service)
    runs = f"{RUN}/runs"
    _problem(
        await shop.runner.post(runs, json={"agent_id": "ghost"}),
        422,
        "invalid_reference",
        "agent_id",
    )
    _problem(
        await shop.runner.post(runs, json={"agent_id": "sales", "sub_agent_id": "router"}),
        422,
        "invalid_reference",
        "sub_agent_id",
    )
    _problem(
        await shop.runner.post(runs, json={"agent_id": "triage", "parent_run_id": "ghost"}),
        422,
        "invalid_reference",
        "parent_run_id",
    )
    _problem(
        await shop.runner.post(runs, json={"agent_id": "triage", "conversation_id": "ghost"}),
        422,
        "invalid_reference",
        "conversation_id",
    )
    _problem(await shop.runner.post(runs, json={}), 422, "validation_failed", "agent_id")
    _problem(
        await shop.runner.post(runs, json={"agent_id": "triage", "status": "completed"}),
        422,
        "validation_failed",
        "status",
    )
    for derived in ("ancestors", "depth", "cost", "ref"):
        answer = await shop.runner.post(runs, json={"agent_id": "triage", derived: None})
        assert answer.status_code == 422, derived
    assert (
        await shop.runner.post(runs, json={"agent_id": "triage"}, params={"ref": "nope"})
    ).status_code == 404
    assert await _ids(shop.viewer, f"{shop.project}/runs") == []

    run = await _start(shop.runner, agent_id="triage")
    url = f"{runs}/{run['id']}"
    calls = f"{url}/llm-calls"
    for cost in ("abc", "-1", "0.0000000001", "1e20", True, "NaN"):
        answer = await shop.runner.post(calls, json={"provider": "p", "model": "m", "cost": cost})
        _problem(answer, 422, "validation_failed")
        assert answer.json()["errors"][0]["field"].endswith("cost"), answer.text
    _problem(
        await shop.runner.post(calls, json={"provider": "p", "model": "m", "step_id": "ghost"}),
        422,
        "invalid_reference",
    )
    assert await _ids(shop.viewer, f"{shop.project}/runs/{run['id']}/llm-calls") == []
    _ok(await shop.runner.post(f"{url}/steps", json={"step_number": 1}), 201)
    _problem(await shop.runner.post(f"{url}/steps", json={"step_number": 1}), 409, "conflict")
    _problem(
        await shop.runner.post(
            f"{url}/tool-calls", json={"kind": "mcp", "name": "t", "step_id": "x"}
        ),
        422,
        "invalid_reference",
        "step_id",
    )
    _problem(
        await shop.runner.post(f"{url}/finish", json={"status": "running"}),
        422,
        "validation_failed",
    )
    _problem(await shop.runner.post(f"{url}/finish", json={"cost": "1"}), 422, "validation_failed")

    failed = _ok(
        await shop.runner.post(
            f"{url}/finish", json={"status": "failed", "error": {"code": "boom", "message": "x"}}
        )
    )
    assert failed["error"]["code"] == "boom"
    assert _amount(failed["cost"]) == 0
    steps = _ok(await shop.viewer.get(f"{shop.project}/runs/{run['id']}/steps"))["data"]
    assert [s["status"] for s in steps] == ["failed"]
    # A finished run takes nothing more: it says so, and its amounts stay the sums.
    for suffix, body in (
        ("finish", {"status": "completed"}),
        ("heartbeat", None),
        ("llm-calls", {"provider": "p", "model": "m", "cost": "1"}),
        ("tool-calls", {"kind": "function", "name": "f"}),
        ("steps", {"step_number": 2}),
    ):
        _problem(await shop.runner.post(f"{url}/{suffix}", json=body), 409, "run_finished")
    after = _ok(await shop.viewer.get(f"{shop.project}/runs/{run['id']}"))
    assert after == failed
    assert len(await _ids(shop.viewer, f"{shop.project}/runs/{run['id']}/steps")) == 1
    assert await _ids(shop.viewer, f"{shop.project}/runs/{run['id']}/tool-calls") == []


async def test_roles_and_reach_of_run_records(service: Service) -> None:
    shop = await _shop(service)
    run = await _start(shop.runner, agent_id="triage")
    runs = f"{shop.project}/runs"
    tenant_usage = f"/manage/tenants/{shop.tenant}/usage"
    # Manage keys may not write run records; runner keys may not read the manage side.
    for caller in (shop.admin, shop.editor, shop.viewer, service.operator):
        _problem(await caller.post(f"{RUN}/runs", json={"agent_id": "triage"}), 403, "forbidden")
    for url in (runs, f"{runs}/{run['id']}", f"{shop.project}/usage", tenant_usage):
        _problem(await shop.runner.get(url), 403, "forbidden")
    # The tenant's usage is its admins'; a project's its readers'.
    for caller in (shop.editor, shop.viewer):
        _problem(await caller.get(tenant_usage), 403, "forbidden")
        _ok(await caller.get(f"{shop.project}/usage"))
    # Another project's keys reach nothing of this one.
    for url in (runs, f"{runs}/{run['id']}", f"{runs}/{run['id']}/tree", f"{shop.project}/usage"):
        _problem(await shop.other_editor.get(url), 404, "not_found")
    for suffix, body in (
        ("", None),
        ("/heartbeat", None),
        ("/finish", {}),
        ("/steps", {"step_number": 1}),
    ):
        method = "GET" if suffix == "" else "POST"
        answer = await shop.other_runner.request(
            method, f"{RUN}/runs/{run['id']}{suffix}", json=body
        )
        _problem(answer, 404, "not_found")
    _problem(
        await shop.other_runner.post(
            f"{RUN}/runs", json={"agent_id": "triage", "parent_run_id": run["id"]}
        ),
        422,
        "invalid_reference",
        "parent_run_id",
    )
    _problem(await shop.viewer.get(f"{runs}/ghost"), 404, "not_found")
    _problem(await shop.viewer.get(f"{runs}/ghost/tree"), 404, "not_found")
    _problem(
        await shop.admin.get(f"/manage/tenants/{shop.tenant}/projects/ghost/runs"), 404, "not_found"
    )
    assert await _ids(shop.viewer, runs) == [run["id"]]
    assert _ok(await shop.viewer.get(f"{runs}/{run['id']}"))["status"] == "running"


async def test_a_key_bound_to_an_agent_reaches_only_its_runs(service: Service) -> None:
    shop = await _shop(service)
    theirs = await _start(shop.runner, agent_id="sales")
    ours = await _start(shop.bound)
    assert ours["agent_id"] == "triage"
    _problem(await shop.bound.post(f"{RUN}/runs", json={"agent_id": "sales"}), 403, "forbidden")
    url = f"{RUN}/runs/{theirs['id']}"
    for suffix, body in (
        ("/heartbeat", None),
        ("/finish", {}),
        ("/steps", {"step_number": 1}),
        ("/llm-calls", {"provider": "p", "model": "m"}),
        ("/tool-calls", {"kind": "function", "name": "f"}),
    ):
        _problem(await shop.bound.post(f"{url}{suffix}", json=body), 404, "not_found")
    _problem(await shop.bound.get(url), 404, "not_found")
    _problem(
        await shop.bound.post(f"{RUN}/runs", json={"parent_run_id": theirs["id"]}),
        422,
        "invalid_reference",
        "parent_run_id",
    )
    child = await _start(shop.bound, parent_run_id=ours["id"])
    assert child["ancestors"] == [ours["id"]]
    _ok(
        await shop.bound.post(
            f"{RUN}/runs/{child['id']}/llm-calls", json={"provider": "p", "model": "m"}
        ),
        201,
    )
    assert _ok(await shop.runner.get(url))["status"] == "running"
    assert await _ids(shop.viewer, f"{shop.project}/runs/{theirs['id']}/steps") == []


async def test_credits_are_granted_by_the_operator_and_read_by_admins(service: Service) -> None:
    shop = await _shop(service)
    tenant = f"/manage/tenants/{shop.tenant}"
    grants = f"{tenant}/credit-grants"
    project_grants = f"{shop.project}/credit-grants"
    grant = {"operation_id": "op-1", "amount": "100.5", "type": "purchase"}
    made = _ok(await service.operator.post(grants, json=grant), 201)
    assert (_amount(made["amount"]), _amount(made["remaining"])) == (Decimal("100.5"),) * 2
    assert made["project_id"] is None
    again = _ok(await service.operator.post(grants, json=grant), 201)
    assert again == made
    _problem(await service.operator.post(grants, json={**grant, "amount": "3"}), 409, "conflict")
    free = {"operation_id": "op-2", "amount": "7", "type": "free", "priority": 1}
    mine = _ok(await service.operator.post(project_grants, json=free), 201)
    assert mine["project_id"] == "shop"

    balance = _ok(await shop.admin.get(f"{tenant}/credits"))
    assert {k: _amount(v) for k, v in balance.items() if k != "by_type"} == {
        "total_remaining": Decimal("100.5"),
        "total_debt": Decimal(0),
        "net_balance": Decimal("100.5"),
    }
    assert list(balance["by_type"]) == ["purchase"]
    project_balance = _ok(await shop.admin.get(f"{shop.project}/credits"))
    assert _amount(project_balance["net_balance"]) == 7
    assert await _ids(shop.admin, grants) == [made["id"]]
    assert await _ids(shop.admin, project_grants) == [mine["id"]]
    ledger = _ok(await shop.admin.get(f"{tenant}/credit-ledger"))["data"]
    assert [(e["operation_id"], e["kind"]) for e in ledger] == [("op-1", "grant")]

    # Bad amounts, expiry in the past: 422 and nothing granted.
    for body in (
        {"operation_id": "x", "amount": "0"},
        {"operation_id": "x", "amount": "-5"},
        {"operation_id": "x", "amount": "1.0000000001"},
        {"operation_id": "x", "amount": "ten"},
        {"operation_id": "x"},
        {"operation_id": "x", "amount": "1", "expires_at": "2001-01-01T00:00:00Z"},
        {"operation_id": "x", "amount": "1", "remaining": "5"},
    ):
        _problem(await service.operator.post(grants, json=body), 422, "validation_failed")
    # Admins read but never grant; project keys see none of it.
    _problem(
        await shop.admin.post(grants, json={**grant, "operation_id": "op-3"}), 403, "forbidden"
    )
    for caller in (shop.editor, shop.viewer, shop.runner):
        for url in (f"{tenant}/credits", grants, f"{shop.project}/credits", project_grants):
            _problem(await caller.get(url), 403, "forbidden")
    stranger = await service.key(f"u-{shop.tenant}", "admin")
    for url in (f"{tenant}/credits", grants, f"{shop.project}/credits", f"{tenant}/credit-ledger"):
        _problem(await stranger.get(url), 404, "not_found")
    _problem(
        await service.operator.get(f"/manage/tenants/u-{shop.tenant}-none/credits"),
        404,
        "not_found",
    )
    _problem(
        await service.operator.post(f"{tenant}/projects/ghost/credit-grants", json=grant),
        404,
        "not_found",
    )
    assert await _ids(shop.admin, grants) == [made["id"]]
    assert await _ids(shop.admin, project_grants) == [mine["id"]]


async def test_usage_ranges_and_groups_are_checked(service: Service) -> None:
    shop = await _shop(service)
    usage = f"{shop.project}/usage"
    _problem(
        await shop.viewer.get(
            usage, params={"start": "2030-01-02T00:00:00Z", "end": "2030-01-01T00:00:00Z"}
        ),
        422,
        "validation_failed",
        "end",
    )
    for params in ({"group_by": "week"}, {"start": "yesterday"}, {"bogus": "1"}):
        answer = await shop.viewer.get(usage, params=params)
        assert 400 <= answer.status_code < 500, params
        assert answer.json()["code"] in ("bad_request", "validation_failed")
    for edge in ("0001-01-01T00:00:00+01:00", "0001-01-02T00:00:00"):
        answer = await shop.viewer.get(usage, params={"end": edge})
        _problem(answer, 422, "validation_failed")
    naive = _ok(
        await shop.viewer.get(
            usage, params={"start": "2030-01-01T00:00:00", "end": "2030-01-02T00:00:00+02:00"}
        )
    )
    assert naive["start"].startswith("2030-01-01T00:00:00")
    assert naive["end"].startswith("2030-01-01T22:00:00")
