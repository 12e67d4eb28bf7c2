"""The core under the run API: keyset pages of a conversation's messages (ties of equal
timestamps broken by id) and manage references checked at a runtime row's ref."""

from __future__ import annotations

import pytest

from agentfold_core.data_access.doors import writing
from agentfold_core.data_access.manage.agents import (
    create_agent,
    create_sub_agent,
    delete_sub_agent,
)
from agentfold_core.data_access.project_lifecycle import create_project
from agentfold_core.data_access.run_references import agent, check_run_references, sub_agent
from agentfold_core.data_access.runtime.conversations import (
    MESSAGES,
    create_conversation,
    list_messages_after,
)
from agentfold_core.db.types import utcnow
from agentfold_core.errors import InvalidReference, ValidationFailed
from agentfold_core.pagination import decode_cursor, encode_cursor
from agentfold_core.scopes import AgentScope, ProjectScope, TenantScope
from agentfold_core.versioning.operations import find_ref
from tests.conftest import Ids
from tests.support.databases import TestDatabases


async def _project(databases: TestDatabases, ids: Ids) -> ProjectScope:
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(ids.tenant), data={"id": ids.project, "name": "P"}
    )
    return ProjectScope(ids.tenant, ids.project)


async def test_message_pages_walk_equal_timestamps_once_in_id_order(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await _project(databases, ids)
    runtime = databases.runtime
    conversations = [
        await create_conversation(runtime)(scopes=scope, data={"agent_id": "a"}) for _ in range(2)
    ]
    at = utcnow()
    async with writing(runtime, scope) as access:
        rows = []
        for n in range(7):
            for conversation in conversations:
                values = MESSAGES.insert_values(
                    access.target,
                    {
                        "conversation_id": conversation.id,
                        "role": "user",
                        "content": {"text": str(n)},
                    },
                )
                rows.append({**values, "created_at": at, "updated_at": at})
        await MESSAGES.insert_many(access, rows)
    expected = sorted(r["id"] for r in rows if r["conversation_id"] == conversations[0].id)

    walked: list[str] = []
    cursor: str | None = None
    while True:
        page = await list_messages_after(runtime)(
            scopes=scope, conversation_id=conversations[0].id, after=cursor, limit=3
        )
        walked += [m.id for m in page.data]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert walked == expected


def test_cursors_round_trip_and_anything_else_is_refused() -> None:
    at = utcnow()
    assert decode_cursor(encode_cursor(at, "m-1")) == (at, "m-1")
    for garbage in ("", "!!", "e30", "WyJ4Il0", "WzEsMl0", "x" * 600):
        with pytest.raises(ValidationFailed) as raised:
            decode_cursor(garbage, "after")
        assert raised.value.errors[0]["field"] == "after"


async def test_references_are_checked_at_the_recorded_commit(
    databases: TestDatabases, ids: Ids
) -> None:
    scope = await _project(databases, ids)
    manage = databases.manage
    await create_agent(manage)(scopes=scope, data={"id": "triage", "name": "T"})
    triage = AgentScope(ids.tenant, ids.project, "triage")
    await create_sub_agent(manage)(scopes=triage, data={"id": "router", "name": "R"})
    names = [agent("agent_id", "triage"), sub_agent("to", "triage", "router")]

    recorded = await check_run_references(manage, scope, names)
    head = await find_ref(manage)(scopes=scope)
    assert (recorded.branch, recorded.commit) == ("main", head.commit)

    await delete_sub_agent(manage)(scopes=triage, sub_agent_id="router")
    # Still there at the commit the row recorded; gone from the branch as it is now.
    assert await check_run_references(manage, scope, names, recorded=recorded) == recorded
    with pytest.raises(InvalidReference) as raised:
        await check_run_references(manage, scope, names)
    assert [e["field"] for e in raised.value.errors] == ["to"]
    with pytest.raises(InvalidReference) as raised:
        await check_run_references(
            manage, scope, [agent("agent_id", "ghost"), sub_agent("from", "triage", "bad id")]
        )
    assert [e["field"] for e in raised.value.errors] == ["agent_id", "from"]
