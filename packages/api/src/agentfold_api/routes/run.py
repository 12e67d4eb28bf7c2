"""The run API of one project, for runner keys: conversations (pinned to the ref of
their agent's configuration), messages, tasks and their relations, events, feedback
and context-cache reads. Tenant and project come from the key, never the request; a
key bound to an agent reaches only that agent's conversations and tasks. Every manage
entity a write names is checked in the manage database at the ref the row runs against.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response
from litestar.handlers import HTTPRouteHandler
from litestar.params import QueryParameter
from litestar.status_codes import HTTP_201_CREATED
from pydantic import BaseModel

from agentfold_api.bodies import insert_body
from agentfold_api.context import (
    PAGE_PARAMS,
    REF_PARAMS,
    chosen_ref,
    json_response,
    principal,
    service,
)
from agentfold_api.routes.runner import (
    RUN,
    agent_filter,
    agent_of,
    bound_project,
    created,
    encode,
    insert,
    missing,
    page_of,
    selected,
    visible,
)
from agentfold_api.routing import Param, route
from agentfold_core.content import ResolvedRef
from agentfold_core.data_access.crud import Entity
from agentfold_core.data_access.run_references import (
    Named,
    agent,
    check_run_references,
    external_agent,
    sub_agent,
)
from agentfold_core.data_access.runtime.conversations import (
    CONTEXT_CACHE,
    CONVERSATIONS,
    EVENTS,
    FEEDBACK,
    MESSAGES,
    list_messages_after,
)
from agentfold_core.data_access.runtime.tasks import TASK_RELATIONS, TASKS
from agentfold_core.db.runtime.schema import ConversationRow, TaskRow
from agentfold_core.errors import InvalidReference, ValidationFailed, field_error
from agentfold_core.pagination import CursorPage, Page

CONVERSATIONS_PATH = f"{RUN}/conversations"
CONVERSATION = f"{CONVERSATIONS_PATH}/{{conversation_id:str}}"
TASKS_PATH = f"{RUN}/tasks"
RELATIONS_PATH = f"{RUN}/task-relations"
_TAG = "run"
_CONVERSATION_ID = Param("conversation_id", str)
_LIMIT = PAGE_PARAMS[1]  # the cursor pages take the limit of the numbered ones
_AFTER = Param(
    "after",
    Annotated[
        str | None,
        QueryParameter(
            name="after",
            description="`next_cursor` of the previous page (omit for the first)",
            max_length=512,
        ),
    ],
    None,
    query=True,
)


def _task_filter(name: str) -> Param:
    return Param(
        name,
        Annotated[
            str | None,
            QueryParameter(
                name=name, description=f"Only relations with this {name}", max_length=255
            ),
        ],
        None,
        query=True,
    )


ConversationCreate = insert_body(
    CONVERSATIONS, "ConversationCreate", drop=("ref",), optional=("agent_id",)
)
# The column has no default a row could be read back with: a message says something.
MessageAppend = insert_body(
    MESSAGES, "MessageAppend", drop=("conversation_id",), required=("content",)
)
EventCreate = insert_body(EVENTS, "EventCreate", drop=("conversation_id",))
FeedbackCreate = insert_body(FEEDBACK, "FeedbackCreate", drop=("conversation_id",))
TaskCreate = insert_body(TASKS, "TaskCreate", drop=("ref",))


# ---------------------------------------------------------------------- helpers


async def _conversation(request: Request[Any, Any, Any], conversation_id: str) -> ConversationRow:
    """The conversation, if the caller reaches it (else 404, as if missing)."""
    caller = principal(request)
    row = await CONVERSATIONS.get(service(request).runtime)(
        scopes=bound_project(caller), conversation_id=conversation_id
    )
    if row is None or not visible(caller, row.agent_id):
        raise missing(CONVERSATIONS, conversation_id)
    return row


async def _task(request: Request[Any, Any, Any], task_id: str) -> TaskRow | None:
    caller = principal(request)
    row = await TASKS.get(service(request).runtime)(scopes=bound_project(caller), task_id=task_id)
    return row if row is not None and visible(caller, row.agent_id) else None


async def _checked(
    request: Request[Any, Any, Any], names: list[Named], recorded: ResolvedRef | None
) -> ResolvedRef:
    # With nothing recorded (a row written before refs were recorded), the default
    # branch as it is now.
    return await check_run_references(
        service(request).manage, bound_project(principal(request)), names, recorded=recorded
    )


# ---------------------------------------------------------------------- conversations


async def _create_conversation(
    request: Request[Any, Any, Any], *, data: BaseModel, **kw: Any
) -> Response[Any]:
    caller = principal(request)
    ref = chosen_ref(kw["ref"], kw["ref_header"])
    values = data.model_dump(exclude_unset=True)
    agent_id = agent_of(caller, values.get("agent_id"))
    names = [agent("agent_id", agent_id)]
    if (active := values.get("active_sub_agent_id")) is not None:
        names.append(sub_agent("active_sub_agent_id", agent_id, active))
    recorded = await check_run_references(
        service(request).manage, bound_project(caller).at(ref), names
    )
    row = await insert(request, CONVERSATIONS, {**values, "agent_id": agent_id, "ref": recorded})
    return created(CONVERSATIONS, row, f"{CONVERSATIONS_PATH}/{row.id}")


async def _list_conversations(
    request: Request[Any, Any, Any], *, page: int, limit: int
) -> Response[Any]:
    where = agent_filter(principal(request))
    return await page_of(request, CONVERSATIONS, page, limit, where)


async def _get_conversation(
    request: Request[Any, Any, Any], *, conversation_id: str
) -> Response[Any]:
    row = await _conversation(request, conversation_id)
    return json_response(encode(CONVERSATIONS, row))


# ---------------------------------------------------------------------- messages


async def _append_message(
    request: Request[Any, Any, Any], *, conversation_id: str, data: BaseModel
) -> Response[Any]:
    conversation = await _conversation(request, conversation_id)
    values = data.model_dump(exclude_unset=True)
    names = [
        sub_agent(name, conversation.agent_id, values[name])
        for name in ("from_sub_agent_id", "to_sub_agent_id")
        if values.get(name) is not None
    ]
    if (external := values.get("from_external_agent_id")) is not None:
        names.append(external_agent("from_external_agent_id", external))
    if names:
        await _checked(request, names, conversation.ref)
    row = await insert(request, MESSAGES, {**values, "conversation_id": conversation.id})
    return created(MESSAGES, row)


async def _list_messages(
    request: Request[Any, Any, Any], *, conversation_id: str, after: str | None, limit: int
) -> Response[Any]:
    conversation = await _conversation(request, conversation_id)
    found = await list_messages_after(service(request).runtime)(
        scopes=bound_project(principal(request)),
        conversation_id=conversation.id,
        after=after,
        limit=limit,
    )
    body = (
        b'{"data":['
        + b",".join(encode(MESSAGES, r) for r in found.data)
        + b'],"next_cursor":'
        + msgspec.json.encode(found.next_cursor)
        + b"}"
    )
    return json_response(body)


# ---------------------------------------------------------------------- events, feedback


async def _create_event(
    request: Request[Any, Any, Any], *, conversation_id: str, data: BaseModel
) -> Response[Any]:
    conversation = await _conversation(request, conversation_id)
    row = await insert(
        request, EVENTS, {**data.model_dump(exclude_unset=True), "conversation_id": conversation.id}
    )
    return created(EVENTS, row)


async def _create_feedback(
    request: Request[Any, Any, Any], *, conversation_id: str, data: BaseModel
) -> Response[Any]:
    conversation = await _conversation(request, conversation_id)
    values = data.model_dump(exclude_unset=True)
    message = await MESSAGES.get(service(request).runtime)(
        scopes=bound_project(principal(request)), message_id=values["message_id"]
    )
    if message is None or message.conversation_id != conversation.id:
        text = f"no message {values['message_id']!r} in this conversation"
        raise InvalidReference(
            text,
            errors=[field_error("message_id", text, "invalid_reference")],
            resource="message",
            key={"message_id": values["message_id"]},
        )
    row = await insert(request, FEEDBACK, {**values, "conversation_id": conversation.id})
    return created(FEEDBACK, row)


def _children(entity: Entity[Any]) -> Any:
    """The handler listing ``entity``'s rows of one conversation, newest first."""

    async def list_children(
        request: Request[Any, Any, Any], *, conversation_id: str, page: int, limit: int
    ) -> Response[Any]:
        conversation = await _conversation(request, conversation_id)
        return await page_of(request, entity, page, limit, {"conversation_id": conversation.id})

    return list_children


async def _get_context_cache_entry(
    request: Request[Any, Any, Any], *, conversation_id: str, context_cache_entry_id: str
) -> Response[Any]:
    conversation = await _conversation(request, conversation_id)
    row = await CONTEXT_CACHE.get(service(request).runtime)(
        scopes=bound_project(principal(request)), context_cache_entry_id=context_cache_entry_id
    )
    if row is None or row.conversation_id != conversation.id:
        raise missing(CONTEXT_CACHE, context_cache_entry_id)
    return json_response(encode(CONTEXT_CACHE, row))


# ---------------------------------------------------------------------- tasks


async def _create_task(
    request: Request[Any, Any, Any], *, data: BaseModel, **kw: Any
) -> Response[Any]:
    caller = principal(request)
    ref = chosen_ref(kw["ref"], kw["ref_header"])
    values = data.model_dump(exclude_unset=True)
    # A sub-agent is known only within its agent: the task must name one.
    agent_id = agent_of(caller, values.get("agent_id"))
    names = [
        agent("agent_id", agent_id),
        sub_agent("sub_agent_id", agent_id, values["sub_agent_id"]),
    ]
    recorded = await check_run_references(
        service(request).manage, bound_project(caller).at(ref), names
    )
    row = await insert(request, TASKS, {**values, "agent_id": agent_id, "ref": recorded})
    return created(TASKS, row, f"{TASKS_PATH}/{row.id}")


async def _list_tasks(request: Request[Any, Any, Any], *, page: int, limit: int) -> Response[Any]:
    return await page_of(request, TASKS, page, limit, agent_filter(principal(request)))


async def _get_task(request: Request[Any, Any, Any], *, task_id: str) -> Response[Any]:
    row = await _task(request, task_id)
    if row is None:
        raise missing(TASKS, task_id)
    return json_response(encode(TASKS, row))


async def _create_task_relation(
    request: Request[Any, Any, Any], *, data: BaseModel
) -> Response[Any]:
    values = data.model_dump(exclude_unset=True)
    missing = [
        field_error(name, f"no task {values[name]!r}", "invalid_reference")
        for name in ("parent_task_id", "child_task_id")
        if await _task(request, values[name]) is None
    ]
    if missing:
        raise InvalidReference(missing[0]["message"], errors=missing, resource="task_relation")
    row = await insert(request, TASK_RELATIONS, values)
    return created(TASK_RELATIONS, row)


async def _list_task_relations(
    request: Request[Any, Any, Any],
    *,
    page: int,
    limit: int,
    parent_task_id: str | None,
    child_task_id: str | None,
) -> Response[Any]:
    where = {
        name: value
        for name, value in (("parent_task_id", parent_task_id), ("child_task_id", child_task_id))
        if value is not None
    }
    if principal(request).agent_id is not None:
        # Relations carry no agent: a key bound to one lists those of its own tasks.
        if not where:
            message = "a key bound to an agent lists the relations of one of its tasks"
            raise ValidationFailed(
                message, errors=[field_error("parent_task_id", message, "missing")]
            )
        for task_id in where.values():
            if await _task(request, task_id) is None:
                raise missing(TASKS, task_id)
    return await page_of(request, TASK_RELATIONS, page, limit, where)


# ---------------------------------------------------------------------- routes


def run_handlers() -> list[HTTPRouteHandler]:
    """Every route of the run API."""
    conversation = [_CONVERSATION_ID]
    pages = [*PAGE_PARAMS]
    common: dict[str, Any] = {"tag": _TAG, "access": "run"}
    cache_entry = f"{CONVERSATION}/context-cache/{{context_cache_entry_id:str}}"
    return [
        route(
            "POST",
            CONVERSATIONS_PATH,
            _create_conversation,
            operation_id="run_create_conversation",
            summary="Start a conversation with an agent at a ref of its configuration",
            params=[*REF_PARAMS],
            body=ConversationCreate,
            returns=selected(CONVERSATIONS),
            status_code=HTTP_201_CREATED,
            errors=(400, 404, 409),
            **common,
        ),
        route(
            "GET",
            CONVERSATIONS_PATH,
            _list_conversations,
            operation_id="run_list_conversations",
            summary="List conversations, newest first",
            params=pages,
            returns=Page[selected(CONVERSATIONS)],  # type: ignore[misc]
            errors=(400,),
            **common,
        ),
        route(
            "GET",
            CONVERSATION,
            _get_conversation,
            operation_id="run_get_conversation",
            summary="Get a conversation",
            params=conversation,
            returns=selected(CONVERSATIONS),
            **common,
        ),
        route(
            "POST",
            f"{CONVERSATION}/messages",
            _append_message,
            operation_id="run_append_message",
            summary="Append a message to a conversation",
            params=conversation,
            body=MessageAppend,
            returns=selected(MESSAGES),
            status_code=HTTP_201_CREATED,
            errors=(409,),
            **common,
        ),
        route(
            "GET",
            f"{CONVERSATION}/messages",
            _list_messages,
            operation_id="run_list_messages",
            summary="Messages of a conversation, oldest first, a cursor page at a time",
            params=[*conversation, _AFTER, _LIMIT],
            returns=CursorPage[selected(MESSAGES)],  # type: ignore[misc]
            errors=(400,),
            **common,
        ),
        route(
            "POST",
            f"{CONVERSATION}/events",
            _create_event,
            operation_id="run_create_event",
            summary="Record an event of a conversation",
            params=conversation,
            body=EventCreate,
            returns=selected(EVENTS),
            status_code=HTTP_201_CREATED,
            errors=(409,),
            **common,
        ),
        route(
            "GET",
            f"{CONVERSATION}/events",
            _children(EVENTS),
            operation_id="run_list_events",
            summary="List events of a conversation, newest first",
            params=[*conversation, *pages],
            returns=Page[selected(EVENTS)],  # type: ignore[misc]
            errors=(400,),
            **common,
        ),
        route(
            "POST",
            f"{CONVERSATION}/feedback",
            _create_feedback,
            operation_id="run_create_feedback",
            summary="Give feedback on a message of a conversation",
            params=conversation,
            body=FeedbackCreate,
            returns=selected(FEEDBACK),
            status_code=HTTP_201_CREATED,
            errors=(409,),
            **common,
        ),
        route(
            "GET",
            f"{CONVERSATION}/feedback",
            _children(FEEDBACK),
            operation_id="run_list_feedback",
            summary="List feedback of a conversation, newest first",
            params=[*conversation, *pages],
            returns=Page[selected(FEEDBACK)],  # type: ignore[misc]
            errors=(400,),
            **common,
        ),
        route(
            "GET",
            f"{CONVERSATION}/context-cache",
            _children(CONTEXT_CACHE),
            operation_id="run_list_context_cache_entries",
            summary="List cached context variables of a conversation, newest first",
            params=[*conversation, *pages],
            returns=Page[selected(CONTEXT_CACHE)],  # type: ignore[misc]
            errors=(400,),
            **common,
        ),
        route(
            "GET",
            cache_entry,
            _get_context_cache_entry,
            operation_id="run_get_context_cache_entry",
            summary="Get a cached context variable of a conversation",
            params=[*conversation, Param("context_cache_entry_id", str)],
            returns=selected(CONTEXT_CACHE),
            **common,
        ),
        route(
            "POST",
            TASKS_PATH,
            _create_task,
            operation_id="run_create_task",
            summary="Create a task for a sub-agent at a ref of its configuration",
            params=[*REF_PARAMS],
            body=TaskCreate,
            returns=selected(TASKS),
            status_code=HTTP_201_CREATED,
            errors=(400, 404, 409),
            **common,
        ),
        route(
            "GET",
            TASKS_PATH,
            _list_tasks,
            operation_id="run_list_tasks",
            summary="List tasks, newest first",
            params=pages,
            returns=Page[selected(TASKS)],  # type: ignore[misc]
            errors=(400,),
            **common,
        ),
        route(
            "GET",
            f"{TASKS_PATH}/{{task_id:str}}",
            _get_task,
            operation_id="run_get_task",
            summary="Get a task",
            params=[Param("task_id", str)],
            returns=selected(TASKS),
            **common,
        ),
        route(
            "POST",
            RELATIONS_PATH,
            _create_task_relation,
            operation_id="run_create_task_relation",
            summary="Link a parent task to a child task",
            body=TASK_RELATIONS.models.api_insert,
            returns=selected(TASK_RELATIONS),
            status_code=HTTP_201_CREATED,
            errors=(409,),
            **common,
        ),
        route(
            "GET",
            RELATIONS_PATH,
            _list_task_relations,
            operation_id="run_list_task_relations",
            summary="List task relations, newest first",
            params=[*pages, _task_filter("parent_task_id"), _task_filter("child_task_id")],
            returns=Page[selected(TASK_RELATIONS)],  # type: ignore[misc]
            errors=(400, 404),
            **common,
        ),
    ]
