"""Version control over HTTP: branch, edit, diff, preview a conflict, merge with a
resolution, revert, tags, reads at refs, writes refused where they must be."""

from __future__ import annotations

import secrets

from tests.support.api import Caller, Service


async def _project(service: Service) -> tuple[Caller, str]:
    token = secrets.token_hex(4)
    tenant = f"t-{token}"
    admin = await service.key(tenant, "admin")
    base = f"/manage/tenants/{tenant}/projects"
    made = await admin.post(base, json={"id": "shop", "name": "Shop"})
    assert made.status_code == 201, made.text
    project = f"{base}/shop"
    agent = await admin.post(f"{project}/agents", json={"id": "triage", "name": "Triage"})
    assert agent.status_code == 201, agent.text
    return admin, project


async def test_branch_edit_diff_merge_with_resolution(service: Service) -> None:
    admin, project = await _project(service)
    agent = f"{project}/agents/triage"
    branched = await admin.post(f"{project}/branches", json={"name": "feature/tone"})
    assert branched.status_code == 201, branched.text
    assert branched.json()["name"] == "feature/tone"

    edit = await admin.patch(agent, json={"prompt": "Be brief."}, params={"ref": "feature/tone"})
    assert edit.status_code == 200, edit.text
    ours = await admin.patch(agent, json={"prompt": "Be thorough."})
    assert ours.status_code == 200

    # Each side reads its own value; the header names the commit read.
    on_branch = await admin.get(agent, headers={"x-agentfold-ref": "feature/tone"})
    assert on_branch.json()["prompt"] == "Be brief."
    assert on_branch.headers["x-agentfold-commit"] == edit.headers["x-agentfold-commit"]
    assert (await admin.get(agent)).json()["prompt"] == "Be thorough."

    diff = await admin.get(f"{project}/diff", params={"from_ref": "main", "ref": "feature/tone"})
    assert diff.status_code == 200, diff.text
    rows = diff.json()["rows"]
    assert [(r["table"], r["row_key"], r["kind"]) for r in rows] == [
        ("agents", "triage", "modified")
    ]
    assert {c["column"] for c in rows[0]["columns"]} >= {"prompt"}

    preview = await admin.post(f"{project}/merge/preview", json={"from_ref": "feature/tone"})
    assert preview.status_code == 200, preview.text
    conflicts = preview.json()["conflicts"]
    assert [(c["table"], c["row_key"], c["kind"]) for c in conflicts] == [
        ("agents", "triage", "modify/modify")
    ]

    refused = await admin.post(f"{project}/merge", json={"from_ref": "feature/tone"})
    assert refused.status_code == 409
    assert refused.json()["code"] == "merge_conflict"
    assert refused.json()["conflicts"][0]["row_key"] == "triage"
    assert (await admin.get(agent)).json()["prompt"] == "Be thorough."

    merged = await admin.post(
        f"{project}/merge",
        json={
            "from_ref": "feature/tone",
            "resolutions": {"agents:triage": "theirs"},
            "expected_ours": preview.json()["ours"],
            "expected_theirs": preview.json()["theirs"],
        },
        headers={"x-agentfold-commit-message": "Take the brief tone"},
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["committed"] is True
    assert (await admin.get(agent)).json()["prompt"] == "Be brief."
    log = await admin.get(f"{project}/commits", params={"limit": 1})
    head = log.json()["data"][0]
    assert head["message"] == "Take the brief tone"
    assert head["merge_parent_id"] is not None
    assert head["id"] == merged.headers["x-agentfold-commit"]

    status = await admin.get(f"{project}/status")
    assert status.json()["changes"] == []


async def test_stale_preview_is_refused(service: Service) -> None:
    admin, project = await _project(service)
    await admin.post(f"{project}/branches", json={"name": "side"})
    await admin.patch(f"{project}/agents/triage", json={"prompt": "side"}, params={"ref": "side"})
    preview = (await admin.post(f"{project}/merge/preview", json={"from_ref": "side"})).json()
    await admin.patch(f"{project}/agents/triage", json={"description": "moved main"})
    stale = await admin.post(
        f"{project}/merge",
        json={
            "from_ref": "side",
            "expected_ours": preview["ours"],
            "expected_theirs": preview["theirs"],
        },
    )
    assert stale.status_code == 409
    assert stale.json()["code"] == "conflict"
    assert (await admin.get(f"{project}/agents/triage")).json()["prompt"] is None


async def test_tag_reads_and_refuses_writes(service: Service) -> None:
    admin, project = await _project(service)
    agent = f"{project}/agents/triage"
    tagged = await admin.post(f"{project}/tags", json={"name": "v1", "message": "first"})
    assert tagged.status_code == 201, tagged.text
    await admin.patch(agent, json={"prompt": "after the tag"})

    at_tag = await admin.get(agent, params={"ref": "v1"})
    assert at_tag.status_code == 200
    assert at_tag.json()["prompt"] is None
    assert at_tag.headers["x-agentfold-commit"] == tagged.json()["commit_id"]
    back = await admin.get(agent, params={"ref": "main~1"})
    assert back.json()["prompt"] is None
    by_prefix = await admin.get(agent, params={"ref": tagged.json()["commit_id"][:10]})
    assert by_prefix.json()["prompt"] is None

    head = (await admin.get(f"{project}/commits", params={"limit": 1})).json()["data"][0]["id"]
    refused = await admin.patch(agent, json={"prompt": "x"}, params={"ref": "v1"})
    assert refused.status_code == 409
    assert refused.json()["code"] == "read_only_ref"
    assert (await admin.get(f"{project}/commits", params={"limit": 1})).json()["data"][0][
        "id"
    ] == head
    assert (await admin.get(agent)).json()["prompt"] == "after the tag"
    create = await admin.post(
        f"{project}/agents", json={"id": "x", "name": "X"}, params={"ref": "v1"}
    )
    assert create.status_code == 409
    assert create.json()["code"] == "read_only_ref"
    delete = await admin.delete(agent, params={"ref": "v1"})
    assert delete.status_code == 409

    missing = await admin.get(agent, params={"ref": "no-such-ref"})
    assert missing.status_code == 404
    disagree = await admin.get(agent, params={"ref": "main"}, headers={"x-agentfold-ref": "v1"})
    assert disagree.status_code == 422


async def test_revert_keeps_later_changes(service: Service) -> None:
    admin, project = await _project(service)
    agent = f"{project}/agents/triage"
    first = await admin.patch(agent, json={"prompt": "one"})
    await admin.patch(agent, json={"description": "two"})
    reverted = await admin.post(
        f"{project}/revert", json={"commit_ref": first.headers["x-agentfold-commit"]}
    )
    assert reverted.status_code == 200, reverted.text
    row = (await admin.get(agent)).json()
    assert row["prompt"] is None
    assert row["description"] == "two"


async def test_branch_lifecycle(service: Service) -> None:
    admin, project = await _project(service)
    made = await admin.post(f"{project}/branches", json={"name": "team/a"})
    assert made.status_code == 201
    duplicate = await admin.post(f"{project}/branches", json={"name": "team/a"})
    assert duplicate.status_code == 409
    listed = await admin.get(f"{project}/branches")
    assert {b["name"] for b in listed.json()} == {"main", "team/a"}
    one = await admin.get(f"{project}/branches/team/a")
    assert one.status_code == 200
    assert one.json()["name"] == "team/a"
    assert (await admin.delete(f"{project}/branches/team/a")).status_code == 204
    assert (await admin.get(f"{project}/branches/team/a")).status_code == 404
    assert (await admin.delete(f"{project}/branches/team/a")).status_code == 404
    main = await admin.delete(f"{project}/branches/main")
    assert main.status_code == 422
    bad = await admin.post(f"{project}/branches", json={"name": "a..b"})
    assert bad.status_code == 422
