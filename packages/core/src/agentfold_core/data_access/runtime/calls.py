"""The call log of runs: one row per LLM call (tokens, exact cost, credits, timing) and
one per tool call (nested through ``parent_call_id``)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import and_, bindparam, case, exists, insert, or_, select
from sqlalchemy.engine import Dialect

from agentfold_core.data_access.crud import Entity
from agentfold_core.data_access.doors import Db, writing
from agentfold_core.data_access.runtime.runs import RUNS, STEPS
from agentfold_core.db.integrity import domain_errors
from agentfold_core.db.prepared import Prepared, prepare, run
from agentfold_core.db.runtime.schema import (
    OPEN_RUN_STATUSES,
    LlmCall,
    LlmCallRow,
    ProjectMetadata,
    ToolCall,
    ToolCallRow,
)
from agentfold_core.db.traits import sa_table
from agentfold_core.errors import InvalidReference, RunFinished
from agentfold_core.scopes import ProjectScope
from agentfold_core.validation import Data

LLM_CALLS: Entity[LlmCallRow] = Entity(
    LlmCall, label="llm_call", plural="llm_calls", path="llm-calls"
)
get_llm_call = LLM_CALLS.get
list_llm_calls = LLM_CALLS.list
delete_llm_call = LLM_CALLS.delete

TOOL_CALLS: Entity[ToolCallRow] = Entity(
    ToolCall, label="tool_call", plural="tool_calls", path="tool-calls"
)
get_tool_call = TOOL_CALLS.get
list_tool_calls = TOOL_CALLS.list
# Inputs and outputs are capped by their column refinement (content.cap_tool_payload),
# so every writer of a tool call (create, update, upsert) stores them capped.
record_tool_call = create_tool_call = TOOL_CALLS.create
update_tool_call = TOOL_CALLS.update
upsert_tool_call = TOOL_CALLS.upsert
delete_tool_call = TOOL_CALLS.delete

_BODIES = ("request_body", "response_body")


@functools.cache
def _llm_call_insert(dialect: Dialect, names: tuple[str, ...]) -> Prepared:
    # One statement: the run must exist and be open (and the step belong to it), and the
    # bodies are kept only where the project's settings say so.
    table = LLM_CALLS.table
    runs = RUNS.table
    steps = STEPS.table
    settings = sa_table(ProjectMetadata)

    def value(name: str) -> Any:
        return bindparam(f"v_{name}", type_=table.c[name].type)

    keep = settings.c.store_llm_bodies
    columns = [n for n in names if n not in _BODIES]
    selected = [
        *(value(n) for n in columns),
        *(case((keep, value(n)), else_=None) for n in _BODIES),
    ]
    step_id = value("step_id")
    in_run = exists().where(
        steps.c.tenant_id == runs.c.tenant_id,
        steps.c.project_id == runs.c.project_id,
        steps.c.id == step_id,
        steps.c.run_id == runs.c.id,
    )
    source = (
        select(*selected)
        .select_from(
            runs.join(
                settings,
                and_(settings.c.tenant_id == runs.c.tenant_id, settings.c.id == runs.c.project_id),
            )
        )
        .where(
            runs.c.tenant_id == value("tenant_id"),
            runs.c.project_id == value("project_id"),
            runs.c.id == value("run_id"),
            # Spelled out: a compiled-once statement has no expanding IN.
            or_(*(runs.c.status == status for status in OPEN_RUN_STATUSES)),
            or_(step_id.is_(None), in_run),
        )
    )
    if dialect.name == "postgresql":
        # Shares the run's lock with other calls but not with finish_run (FOR UPDATE): a
        # call is either in the sums the run finishes with, or refused as too late.
        # SQLite serialises writers already.
        source = source.with_for_update(key_share=True, read=True, of=runs)
    stmt = insert(table).from_select([*columns, *_BODIES], source)
    return prepare(stmt.returning(*table.c), dialect)


def record_llm_call(runtime: Db) -> Callable[..., Awaitable[LlmCallRow]]:
    """Curried: log one LLM call of an open run (one statement).

    Request and response bodies are stored only when the project's retention settings
    keep LLM bodies. Raises ``InvalidReference`` when the run does not exist in the
    project or the step is not one of its steps, and ``RunFinished`` when the run has
    finished (its amounts were summed then; a later call would be missing from them).
    """

    async def _record(*, scopes: ProjectScope, data: Data) -> LlmCallRow:
        async with writing(runtime, scopes) as access:
            values = LLM_CALLS.insert_values(access.target, data)
            names = tuple(n for n in values if n not in _BODIES)
            prepared = _llm_call_insert(access.conn.dialect, (*names, *_BODIES))
            params = {f"v_{n}": v for n, v in values.items()}
            with domain_errors(LLM_CALLS.label, LLM_CALLS.key_of(values)):
                rows = await run(access.conn, prepared, params)
        if not rows:
            run_row = await RUNS.get(runtime)(scopes=scopes, run_id=values["run_id"])
            if run_row is not None and run_row.status not in OPEN_RUN_STATUSES:
                raise RunFinished(
                    f"run {run_row.id} has already finished ({run_row.status}): its cost"
                    " was rolled up then",
                    resource=RUNS.label,
                    key={"run_id": run_row.id},
                )
            raise InvalidReference(
                "llm_call refers to a run (or a step of it) that does not exist in this scope",
                resource=LLM_CALLS.label,
                key={"run_id": values["run_id"], "step_id": values["step_id"]},
            )
        return LLM_CALLS.row(prepared.row(rows[0]))

    return _record


create_llm_call = record_llm_call
