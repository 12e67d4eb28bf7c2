"""Run records for runner keys, under ``/run/v1/runs``: start a run (a child under its
parent), heartbeat, finish it, and record its steps, LLM calls and tool calls.

Tenant and project come from the key; a key bound to an agent reaches that agent's
runs only. The agent and sub-agent a run names are checked in the manage database at
the ref it runs against: a child run's is its parent's, a run in a conversation the
conversation's, any other run's the request's ``?ref=`` (default ``main``). A finished
run takes no more records (409 ``run_finished``): its cost was rolled up when it
finished.
"""

from __future__ import annotations

from typing import Any, Literal

from litestar import Request, Response
from litestar.handlers import HTTPRouteHandler
from litestar.status_codes import HTTP_201_CREATED
from pydantic import BaseModel, ConfigDict

from agentfold_api.bodies import insert_body
from agentfold_api.context import REF_PARAMS, chosen_ref, json_response, principal, service
from agentfold_api.routes.runner import (
    RUN,
    agent_of,
    caller_project,
    created,
    encode,
    insert,
    missing,
    selected,
    visible,
)
from agentfold_api.routing import Param, route
from agentfold_core.content import ResolvedRef, RunError
from agentfold_core.data_access.run_references import agent, check_run_references, sub_agent
from agentfold_core.data_access.runtime.calls import LLM_CALLS, TOOL_CALLS, record_llm_call
from agentfold_core.data_access.runtime.conversations import CONVERSATIONS
from agentfold_core.data_access.runtime.runs import (
    FINAL_RUN_STATUSES,
    RUNS,
    STEPS,
    finish_run,
    heartbeat,
    start_run,
)
from agentfold_core.db.runtime.schema import AgentRunRow
from agentfold_core.errors import InvalidReference, RunFinished, ValidationFailed, field_error

RUNS_PATH = f"{RUN}/runs"
RUN_PATH = f"{RUNS_PATH}/{{run_id:str}}"
_TAG = "run"
_RUN_ID = Param("run_id", str)
_STEP_ID = Param("step_id", str)

# What a runner says when it starts a run; the rest is derived (ancestors, root,
# depth, amounts) or written when the run finishes.
RunStart = insert_body(
    RUNS,
    "RunStart",
    drop=("ref", "finished_at", "duration_ms", "heartbeat_at", "error"),
    optional=("agent_id",),
)
StepCreate = insert_body(STEPS, "StepCreate", drop=("run_id",))
LlmCallRecord = insert_body(LLM_CALLS, "LlmCallRecord", drop=("run_id",))
ToolCallRecord = insert_body(TOOL_CALLS, "ToolCallRecord", drop=("run_id",))


class RunFinish(BaseModel):
    """How a run ended; its cost and credits are the sums of its LLM calls."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["completed", "failed", "cancelled"] = "completed"
    error: RunError | None = None


# ---------------------------------------------------------------------- helpers


def _invalid(field: str, message: str, resource: str, value: str) -> InvalidReference:
    return InvalidReference(
        f"{field}: {message}",
        errors=[field_error(field, message, "invalid_reference")],
        resource=resource,
        key={field: value},
    )


async def _run(request: Request[Any, Any, Any], run_id: str) -> AgentRunRow | None:
    """The run, if the caller reaches it."""
    row = await RUNS.get(service(request).runtime)(scopes=caller_project(request), run_id=run_id)
    return row if row is not None and visible(principal(request), row.agent_id) else None


async def _open_run(request: Request[Any, Any, Any], run_id: str) -> AgentRunRow:
    """The run records are written to: reached (else 404) and not finished (else 409)."""
    row = await _run(request, run_id)
    if row is None:
        raise missing(RUNS, run_id)
    if row.status in FINAL_RUN_STATUSES:
        raise RunFinished(
            f"run {run_id} has already finished ({row.status})",
            resource=RUNS.label,
            key={"run_id": run_id},
        )
    return row


async def _recorded_ref(
    request: Request[Any, Any, Any], values: dict[str, Any], *, explicit: bool
) -> ResolvedRef | None:
    """The ref a new run inherits from its parent or conversation (``None``: neither, the
    request's ref applies); each named row must be one the caller reaches."""
    inherited: ResolvedRef | None = None
    source = None
    if (conversation_id := values.get("conversation_id")) is not None:
        conversation = await CONVERSATIONS.get(service(request).runtime)(
            scopes=caller_project(request), conversation_id=conversation_id
        )
        if conversation is None or not visible(principal(request), conversation.agent_id):
            raise _invalid(
                "conversation_id", "no such conversation", "conversation", conversation_id
            )
        inherited, source = conversation.ref, "conversation_id"
    if (parent_id := values.get("parent_run_id")) is not None:
        parent = await _run(request, parent_id)
        if parent is None:
            raise _invalid("parent_run_id", "no such run", RUNS.label, parent_id)
        # A child runs against its tree's configuration.
        inherited, source = parent.ref or inherited, "parent_run_id"
    if source is not None and explicit:
        message = f"the run inherits the ref of its {source.removesuffix('_id').replace('_', ' ')}"
        raise ValidationFailed(message, errors=[field_error("ref", message, "ref_inherited")])
    if source is not None and inherited is None:
        # Recorded before refs were: the default branch as it is now.
        return None
    return inherited


# ---------------------------------------------------------------------- handlers


async def _start(request: Request[Any, Any, Any], *, data: BaseModel, **kw: Any) -> Response[Any]:
    caller = principal(request)
    ref = chosen_ref(kw["ref"], kw["ref_header"])
    explicit = kw["ref"] is not None or kw["ref_header"] is not None
    values = data.model_dump(exclude_unset=True)
    if values.get("status") in FINAL_RUN_STATUSES:
        message = "a run starts queued, running or paused; finish it with .../finish"
        raise ValidationFailed(message, errors=[field_error("status", message, "open_status")])
    agent_id = agent_of(caller, values.get("agent_id"))
    names = [agent("agent_id", agent_id)]
    if (sub := values.get("sub_agent_id")) is not None:
        names.append(sub_agent("sub_agent_id", agent_id, sub))
    inherited = await _recorded_ref(request, values, explicit=explicit)
    project = caller_project(request)
    recorded = await check_run_references(
        service(request).manage, project.at(ref), names, recorded=inherited
    )
    row = await start_run(service(request).runtime)(
        scopes=project, data={**values, "agent_id": agent_id, "ref": recorded}
    )
    return created(RUNS, row, f"{RUNS_PATH}/{row.id}")


async def _get(request: Request[Any, Any, Any], *, run_id: str) -> Response[Any]:
    row = await _run(request, run_id)
    if row is None:
        raise missing(RUNS, run_id)
    return json_response(encode(RUNS, row))


async def _heartbeat(request: Request[Any, Any, Any], *, run_id: str) -> Response[Any]:
    run = await _open_run(request, run_id)
    row = await heartbeat(service(request).runtime)(scopes=caller_project(request), run_id=run.id)
    return json_response(encode(RUNS, row))


async def _finish(
    request: Request[Any, Any, Any], *, run_id: str, data: RunFinish
) -> Response[Any]:
    run = await _open_run(request, run_id)
    row = await finish_run(service(request).runtime)(
        scopes=caller_project(request), run_id=run.id, status=data.status, error=data.error
    )
    return json_response(encode(RUNS, row))


async def _create_step(
    request: Request[Any, Any, Any], *, run_id: str, data: BaseModel
) -> Response[Any]:
    run = await _open_run(request, run_id)
    row = await insert(request, STEPS, {**data.model_dump(exclude_unset=True), "run_id": run.id})
    return created(STEPS, row)


async def _update_step(
    request: Request[Any, Any, Any], *, run_id: str, step_id: str, data: BaseModel
) -> Response[Any]:
    run = await _open_run(request, run_id)
    project = caller_project(request)
    runtime = service(request).runtime
    step = await STEPS.get(runtime)(scopes=project, step_id=step_id)
    if step is None or step.run_id != run.id:
        raise missing(STEPS, step_id)
    row = await STEPS.update(runtime)(scopes=project, step_id=step_id, data=data)
    if row is None:
        raise missing(STEPS, step_id)
    return json_response(encode(STEPS, row))


async def _record_llm_call(
    request: Request[Any, Any, Any], *, run_id: str, data: BaseModel
) -> Response[Any]:
    run = await _open_run(request, run_id)
    values = {**data.model_dump(exclude_unset=True), "run_id": run.id}
    # The step must be one of this run's: checked in the same statement as the insert.
    row = await record_llm_call(service(request).runtime)(
        scopes=caller_project(request), data=values
    )
    return created(LLM_CALLS, row)


async def _record_tool_call(
    request: Request[Any, Any, Any], *, run_id: str, data: BaseModel
) -> Response[Any]:
    run = await _open_run(request, run_id)
    values = {**data.model_dump(exclude_unset=True), "run_id": run.id}
    project = caller_project(request)
    runtime = service(request).runtime
    if (step_id := values.get("step_id")) is not None:
        step = await STEPS.get(runtime)(scopes=project, step_id=step_id)
        if step is None or step.run_id != run.id:
            raise _invalid("step_id", "no such step of this run", STEPS.label, step_id)
    if (parent_id := values.get("parent_call_id")) is not None:
        parent = await TOOL_CALLS.get(runtime)(scopes=project, tool_call_id=parent_id)
        if parent is None or parent.run_id != run.id:
            raise _invalid(
                "parent_call_id", "no such tool call of this run", "tool_call", parent_id
            )
    row = await insert(request, TOOL_CALLS, values)
    return created(TOOL_CALLS, row)


# ---------------------------------------------------------------------- routes


def run_record_handlers() -> list[HTTPRouteHandler]:
    """Every route of run records for runner keys."""
    common: dict[str, Any] = {"tag": _TAG, "access": "run"}
    run = [_RUN_ID]
    return [
        route(
            "POST",
            RUNS_PATH,
            _start,
            operation_id="run_start_run",
            summary="Start a run of an agent (a child run under its parent)",
            description="A child run (`parent_run_id`) inherits its parent's ancestors and"
            " configuration ref; a run in a conversation runs at the conversation's ref; any"
            " other run at `?ref=` (default `main`). Its agent and sub-agent must exist at"
            " that ref (422 otherwise). A running run gets `started_at` and `heartbeat_at`.",
            params=[*REF_PARAMS],
            body=RunStart,
            returns=selected(RUNS),
            status_code=HTTP_201_CREATED,
            errors=(404, 409),
            **common,
        ),
        route(
            "GET",
            RUN_PATH,
            _get,
            operation_id="run_get_run",
            summary="Get a run",
            params=run,
            returns=selected(RUNS),
            **common,
        ),
        route(
            "POST",
            f"{RUN_PATH}/heartbeat",
            _heartbeat,
            operation_id="run_heartbeat",
            summary="Record that a run is alive (a queued run becomes running)",
            description="409 `run_finished` once the run has finished, also when the"
            " stuck-run sweep failed it for a missed heartbeat: the runner should stop.",
            params=run,
            returns=selected(RUNS),
            errors=(409,),
            **common,
        ),
        route(
            "POST",
            f"{RUN_PATH}/finish",
            _finish,
            operation_id="run_finish_run",
            summary="Finish a run: completed, failed or cancelled",
            description="Sets the run's cost and credits to the sums of its LLM calls and"
            " adds them to the subtree totals of the run and of every ancestor, in one"
            " transaction; open steps of a run that did not complete are failed. 409"
            " `run_finished` when it has already finished.",
            params=run,
            body=RunFinish,
            returns=selected(RUNS),
            errors=(409,),
            **common,
        ),
        route(
            "POST",
            f"{RUN_PATH}/steps",
            _create_step,
            operation_id="run_create_step",
            summary="Record a step of a run (step numbers are unique per run)",
            params=run,
            body=StepCreate,
            returns=selected(STEPS),
            status_code=HTTP_201_CREATED,
            errors=(409,),
            **common,
        ),
        route(
            "PATCH",
            f"{RUN_PATH}/steps/{{step_id:str}}",
            _update_step,
            operation_id="run_update_step",
            summary="Change a step of a run (its status, credits, child runs, times)",
            params=[*run, _STEP_ID],
            body=STEPS.models.api_update,
            returns=selected(STEPS),
            errors=(409,),
            **common,
        ),
        route(
            "POST",
            f"{RUN_PATH}/llm-calls",
            _record_llm_call,
            operation_id="run_record_llm_call",
            summary="Record an LLM call of a run: tokens, exact cost and credits, timing",
            description="Amounts are exact decimals: send them as strings. Request and"
            " response bodies are kept only when the project's settings keep LLM bodies.",
            params=run,
            body=LlmCallRecord,
            returns=selected(LLM_CALLS),
            status_code=HTTP_201_CREATED,
            errors=(409,),
            **common,
        ),
        route(
            "POST",
            f"{RUN_PATH}/tool-calls",
            _record_tool_call,
            operation_id="run_record_tool_call",
            summary="Record a tool call of a run (nested under `parent_call_id`)",
            description="Input and output larger than the cap are stored as a preview.",
            params=run,
            body=ToolCallRecord,
            returns=selected(TOOL_CALLS),
            status_code=HTTP_201_CREATED,
            errors=(409,),
            **common,
        ),
    ]
