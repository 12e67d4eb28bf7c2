"""A model check of merge: random creates, updates and deletes of agents and of
sub-agents under them on two branches from one commit, then a merge of one into the
other with every conflict resolved as theirs, equal a model of the same operations
computed in plain Python (rows per branch, three-way merge by row, then column)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentfold_core.data_access.manage.agents import (
    create_agent,
    create_sub_agent,
    delete_agent,
    delete_sub_agent,
    list_agents,
    list_sub_agents,
    update_agent,
    update_sub_agent,
)
from agentfold_core.data_access.project_lifecycle import create_project
from agentfold_core.scopes import AgentScope, ProjectScope, TenantScope
from agentfold_core.versioning.apply import ApplyFailed
from agentfold_core.versioning.branches import create_branch
from agentfold_core.versioning.merge import merge, merge_preview
from agentfold_core.versioning.operations import status
from tests.support.databases import TestDatabases

Side = Literal["main", "feature"]
Kind = Literal[
    "create_agent", "update_agent", "delete_agent", "create_sub", "update_sub", "delete_sub"
]
# Agents: id -> {column: value}; sub-agents: (agent id, sub-agent id) -> {column: value}.
Agents = dict[str, dict[str, str]]
Subs = dict[tuple[str, str], dict[str, str]]
AGENT_COLUMNS = ("name", "prompt")
SUB_COLUMNS = ("name", "prompt")


@dataclass
class State:
    """One branch's rows, as the model sees them."""

    agents: Agents = field(default_factory=dict)
    subs: Subs = field(default_factory=dict)

    def copy(self) -> State:
        return State(
            {k: dict(v) for k, v in self.agents.items()},
            {k: dict(v) for k, v in self.subs.items()},
        )


@dataclass(frozen=True)
class Op:
    """One operation: on which branch, what, on which existing row (an index modulo
    the rows there are), and which column an update sets."""

    side: Side
    kind: Kind
    pick: int
    column: int


operations = st.lists(
    st.builds(
        Op,
        side=st.sampled_from(["main", "feature"]),
        kind=st.sampled_from(
            [
                "create_agent",
                "update_agent",
                "delete_agent",
                "create_sub",
                "update_sub",
                "delete_sub",
            ]
        ),
        pick=st.integers(min_value=0, max_value=7),
        column=st.integers(min_value=0, max_value=1),
    ),
    min_size=1,
    max_size=8,
)


def _three_way(
    base: dict[Any, dict[str, str]],
    ours: dict[Any, dict[str, str]],
    theirs: dict[Any, dict[str, str]],
) -> dict[Any, dict[str, str]]:
    """Row, then column; every conflict resolved as theirs (the whole row). Every
    update writes a value never written before, so a changed row never equals its base."""
    out: dict[Any, dict[str, str]] = {}
    for key in base.keys() | ours.keys() | theirs.keys():
        b, o, t = base.get(key), ours.get(key), theirs.get(key)
        if o == t:
            row = o
        elif o == b:
            row = t
        elif t == b:
            row = o
        elif o is None or t is None or b is None:
            row = t  # modify/delete, delete/modify, add/add: theirs
        else:
            merged: dict[str, str] = {}
            clash = False
            for column in b.keys() | o.keys() | t.keys():
                bv, ov, tv = b.get(column), o.get(column), t.get(column)
                if ov == tv or tv == bv:
                    value = ov
                elif ov == bv:
                    value = tv
                else:
                    clash = True
                    break
                if value is not None:
                    merged[column] = value
            row = t if clash else merged
        if row is not None:
            out[key] = row
    return out


def _apply_to_model(state: State, op: Op, step: int) -> tuple[str, Any] | None:
    """Apply ``op`` to the model; what to do against the database (None: nothing)."""
    value = f"{op.side}-{step}"
    agents = sorted(state.agents)
    subs = sorted(state.subs)
    if op.kind == "create_agent":
        agent_id = f"n{op.pick}"
        if agent_id in state.agents:
            return None
        state.agents[agent_id] = {"name": agent_id, "prompt": value}
        return "create_agent", (agent_id, value)
    if op.kind == "update_agent" and agents:
        agent_id = agents[op.pick % len(agents)]
        column = AGENT_COLUMNS[op.column]
        state.agents[agent_id][column] = value
        return "update_agent", (agent_id, column, value)
    if op.kind == "delete_agent" and agents:
        agent_id = agents[op.pick % len(agents)]
        del state.agents[agent_id]
        for key in [k for k in state.subs if k[0] == agent_id]:
            del state.subs[key]  # the database cascades
        return "delete_agent", agent_id
    if op.kind == "create_sub" and agents:
        agent_id = agents[op.pick % len(agents)]
        sub_id = f"s{op.column}"
        if (agent_id, sub_id) in state.subs:
            return None
        state.subs[(agent_id, sub_id)] = {"name": sub_id, "prompt": value}
        return "create_sub", (agent_id, sub_id, value)
    if op.kind == "update_sub" and subs:
        agent_id, sub_id = subs[op.pick % len(subs)]
        column = SUB_COLUMNS[op.column]
        state.subs[(agent_id, sub_id)][column] = value
        return "update_sub", (agent_id, sub_id, column, value)
    if op.kind == "delete_sub" and subs:
        agent_id, sub_id = subs[op.pick % len(subs)]
        del state.subs[(agent_id, sub_id)]
        return "delete_sub", (agent_id, sub_id)
    return None


async def _apply_to_database(
    databases: TestDatabases, scope: ProjectScope, action: tuple[str, Any]
) -> None:
    manage = databases.manage
    kind, args = action
    if kind == "create_agent":
        agent_id, value = args
        await create_agent(manage)(
            scopes=scope, data={"id": agent_id, "name": agent_id, "prompt": value}
        )
        return
    if kind == "update_agent":
        agent_id, column, value = args
        await update_agent(manage)(scopes=scope, agent_id=agent_id, data={column: value})
        return
    if kind == "delete_agent":
        await delete_agent(manage)(scopes=scope, agent_id=args)
        return
    agent_scope = AgentScope(scope.tenant_id, scope.project_id, args[0], ref=scope.ref)
    if kind == "create_sub":
        await create_sub_agent(manage)(
            scopes=agent_scope, data={"id": args[1], "name": args[1], "prompt": args[2]}
        )
    elif kind == "update_sub":
        _, sub_id, column, value = args
        await update_sub_agent(manage)(
            scopes=agent_scope, sub_agent_id=sub_id, data={column: value}
        )
    else:
        await delete_sub_agent(manage)(scopes=agent_scope, sub_agent_id=args[1])


async def _read(databases: TestDatabases, scope: ProjectScope) -> State:
    found = State()
    agents = await list_agents(databases.manage)(scopes=scope, limit=100)
    for agent in agents.data:
        found.agents[agent.id] = {"name": agent.name, "prompt": agent.prompt or ""}
        agent_scope = AgentScope(scope.tenant_id, scope.project_id, agent.id, ref=scope.ref)
        subs = await list_sub_agents(databases.manage)(scopes=agent_scope, limit=100)
        for sub in subs.data:
            found.subs[(agent.id, sub.id)] = {"name": sub.name, "prompt": sub.prompt or ""}
    return found


async def _start(databases: TestDatabases) -> tuple[ProjectScope, State]:
    """A fresh project with three agents of one sub-agent each on main."""
    token = secrets.token_hex(4)
    tenant, project = f"t-{token}", f"p-{token}"
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(tenant), data={"id": project, "name": "P"}
    )
    main = ProjectScope(tenant, project)
    state = State()
    for n in range(3):
        agent_id, sub_id = f"base{n}", f"sub{n}"
        await create_agent(databases.manage)(
            scopes=main, data={"id": agent_id, "name": agent_id, "prompt": "p"}
        )
        await create_sub_agent(databases.manage)(
            scopes=AgentScope(tenant, project, agent_id),
            data={"id": sub_id, "name": sub_id, "prompt": "q"},
        )
        state.agents[agent_id] = {"name": agent_id, "prompt": "p"}
        state.subs[(agent_id, sub_id)] = {"name": sub_id, "prompt": "q"}
    return main, state


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
async def test_merge_equals_the_model(databases: TestDatabases, ops: list[Op]) -> None:
    main, base = await _start(databases)
    await create_branch(databases.manage)(scopes=main, name="feature")
    scopes = {"main": main, "feature": main.at("feature")}
    states: dict[str, State] = {"main": base.copy(), "feature": base.copy()}
    for step, op in enumerate(ops):
        action = _apply_to_model(states[op.side], op, step)
        if action is not None:
            await _apply_to_database(databases, scopes[op.side], action)
    for side in ("main", "feature"):
        assert await _read(databases, scopes[side]) == states[side], side

    expected = State(
        _three_way(base.agents, states["main"].agents, states["feature"].agents),
        _three_way(base.subs, states["main"].subs, states["feature"].subs),
    )
    orphans = [key for key in expected.subs if key[0] not in expected.agents]
    preview = await merge_preview(databases.manage)(scopes=main, from_ref="feature")
    resolutions: dict[Any, Any] = {(c.table, c.row_key): "theirs" for c in preview.conflicts}
    before = await status(databases.manage)(scopes=main)
    if orphans:
        # A kept sub-agent whose agent the merge drops: rolled back whole with
        # ApplyFailed naming the rows, whether a cascade would drop the sub-agent
        # (theirs deletes the agent) or its insert would be orphaned (theirs adds it
        # under an agent ours deleted).
        with pytest.raises(ApplyFailed) as caught:
            await merge(databases.manage)(scopes=main, from_ref="feature", resolutions=resolutions)
        named = {row_key for table, row_key in caught.value.rows if table == "sub_agents"}
        assert named <= {f"{agent}\x1f{sub}" for agent, sub in orphans}
        assert named
        assert (await status(databases.manage)(scopes=main)).head == before.head
        assert await _read(databases, main) == states["main"]
        return
    await merge(databases.manage)(scopes=main, from_ref="feature", resolutions=resolutions)
    assert await _read(databases, main) == expected
    after = await status(databases.manage)(scopes=main)
    assert after.clean, after.changes
    # The other branch is untouched.
    assert await _read(databases, scopes["feature"]) == states["feature"]
