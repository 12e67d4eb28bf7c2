"""The run API of one project, for runner keys: conversations (pinned to the ref of
their agent's configuration), messages, tasks and their relations, events, feedback
and context-cache reads. Tenant and project come from the key, never the request; a
key bound to an agent reaches only that agent's conversations and tasks. Every manage
entity a write names is checked in the manage database at the ref the row runs against.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import PermissionDeniedException
from litestar.handlers import HTTPRouteHandler
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED
from pydantic import BaseModel, ConfigDict, Field, create_model

from agentfold_api.context import (
    PAGE_PARAMS,
    REF_PARAMS,
    chosen_ref,
    json_response,
    page_response,
    principal,
    service,
)
from agentfold_api.principal import Principal
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
from agentfold_core.errors import InvalidReference, NotFound, ValidationFailed, field_error
from agentfold_core.pagination import CursorPage, Page
from agentfold_core.scopes import ProjectScope

RUN = "/run/v1"
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
        Parameter(
            query="after",
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
            Parameter(query=name, description=f"Only relations with this {name}", max_length=255),
        ],
        None,
        query=True,
    )


def _body(
    entity: Entity[Any],
    name: str,
    *,
    drop: Iterable[str] = (),
    optional: Iterable[str] = (),
    required: Iterable[str] = (),
) -> type[BaseModel]:
    """The entity's generated insert model without the columns the route sets, with
    ``optional`` ones defaulted to null and ``required`` ones without a default, keeping
    every refinement of the columns it keeps."""
    fields: dict[str, Any] = {}
    for field_name, info in entity.models.api_insert.model_fields.items():
        kept: Any = info.annotation
        if field_name in drop:
            continue
        if field_name in optional:
            annotation: Any = Annotated[(kept | None, *info.metadata)]
            fields[field_name] = (annotation, Field(default=None, description=info.description))
        elif field_name in required:
            annotation = Annotated[(kept, *info.metadata)]
            fields[field_name] = (annotation, Field(description=info.description))
        else:
            fields[field_name] = (kept, info)
    model: type[BaseModel] = create_model(name, __config__=ConfigDict(extra="forbid"), **fields)
    return model


ConversationCreate = _body(
    CONVERSATIONS, "ConversationCreate", drop=("ref",), optional=("agent_id",)
)
# The column has no default a row could be read back with: a message says something.
MessageAppend = _body(MESSAGES, "MessageAppend", drop=("conversation_id",), required=("content",))
EventCreate = _body(EVENTS, "EventCreate", drop=("conversation_id",))
FeedbackCreate = _body(FEEDBACK, "FeedbackCreate", drop=("conversation_id",))
TaskCreate = _body(TASKS, "TaskCreate", drop=("ref",))


# ---------------------------------------------------------------------- helpers


def _encode(entity: Entity[Any], row: BaseModel) -> bytes:
    return row.model_dump_json(include=_shown(entity)).encode()


@functools.cache
def _shown(entity: Entity[Any]) -> set[str]:
    # The columns a response shows (scope columns left out), computed once per entity.
    return set(entity.models.api_select.model_fields)


def _project(caller: Principal) -> ProjectScope:
    # The guard admits runner keys only, and a runner key is bound to a project.
    if caller.tenant_id is None or caller.project_id is None:
        raise PermissionDeniedException(detail="this credential is not bound to a project")
    return ProjectScope(caller.tenant_id, caller.project_id)


def _agent_of(caller: Principal, given: str | None) -> str:
    """The agent a write runs against: the key's own when it is bound to one."""
    if caller.agent_id is not None:
        if given is not None and given != caller.agent_id:
            raise PermissionDeniedException(
                detail=f"this key is bound to agent {caller.agent_id!r}"
            )
        return caller.agent_id
    if given is None:
        message = "required: the key is bound to no agent"
        raise ValidationFailed(
            f"agent_id {message}", errors=[field_error("agent_id", message, "missing")]
        )
    return given


def _visible(caller: Principal, agent_id: str | None) -> bool:
    return caller.agent_id is None or agent_id == caller.agent_id


def _agent_filter(caller: Principal) -> dict[str, Any] | None:
    return {"agent_id": caller.agent_id} if caller.agent_id is not None else None


def _missing(entity: Entity[Any], row_id: str) -> NotFound:
    label = entity.label.replace("_", " ")
    return NotFound(
        f"{label} not found", resource=entity.label, key={entity.id_param or "id": row_id}
    )


def _created(entity: Entity[Any], row: BaseModel, location: str | None = None) -> Response[bytes]:
    headers = {"location": location} if location else None
    return json_response(_encode(entity, row), status_code=HTTP_201_CREATED, headers=headers)


async def _conversation(request: Request[Any, Any, Any], conversation_id: str) -> ConversationRow:
    """The conversation, if the caller reaches it (else 404, as if missing)."""
    caller = principal(request)
    row = await CONVERSATIONS.get(service(request).runtime)(
        scopes=_project(caller), conversation_id=conversation_id
    )
    if row is None or not _visible(caller, row.agent_id):
        raise _missing(CONVERSATIONS, conversation_id)
    return row


async def _task(request: Request[Any, Any, Any], task_id: str) -> TaskRow | None:
    caller = principal(request)
    row = await TASKS.get(service(request).runtime)(scopes=_project(caller), task_id=task_id)
    return row if row is not None and _visible(caller, row.agent_id) else None


async def _checked(
    request: Request[Any, Any, Any], names: list[Named], recorded: ResolvedRef | None
) -> ResolvedRef:
    # With nothing recorded (a row written before refs were recorded), the default
    # branch as it is now.
    return await check_run_references(
        service(request).manage, _project(principal(request)), names, recorded=recorded
    )


async def _insert(
    request: Request[Any, Any, Any], entity: Entity[Any], values: Mapping[str, Any]
) -> Any:
    return await entity.create(service(request).runtime)(
        scopes=_project(principal(request)), data=values
    )


async def _page(
    request: Request[Any, Any, Any],
    entity: Entity[Any],
    page: int,
    limit: int,
    where: Mapping[str, Any] | None,
) -> Response[bytes]:
    found: Page[Any] = await entity.list(service(request).runtime)(
        scopes=_project(principal(request)), page=page, limit=limit, where=where
    )
    return page_response((_encode(entity, r) for r in found.data), found.pagination)


# ---------------------------------------------------------------------- conversations


async def _create_conversation(
    request: Request[Any, Any, Any], *, data: BaseModel, **kw: Any
) -> Response[Any]:
    caller = principal(request)
    ref = chosen_ref(kw["ref"], kw["ref_header"])
    values = data.model_dump(exclude_unset=True)
    agent_id = _agent_of(caller, values.get("agent_id"))
    names = [agent("agent_id", agent_id)]
    if (active := values.get("active_sub_agent_id")) is not None:
        names.append(sub_agent("active_sub_agent_id", agent_id, active))
    recorded = await check_run_references(service(request).manage, _project(caller).at(ref), names)
    row = await _insert(request, CONVERSATIONS, {**values, "agent_id": agent_id, "ref": recorded})
    return _created(CONVERSATIONS, row, f"{CONVERSATIONS_PATH}/{row.id}")


async def _list_conversations(
    request: Request[Any, Any, Any], *, page: int, limit: int
) -> Response[Any]:
    where = _agent_filter(principal(request))
    return await _page(request, CONVERSATIONS, page, limit, where)


async def _get_conversation(
    request: Request[Any, Any, Any], *, conversation_id: str
) -> Response[Any]:
    row = await _conversation(request, conversation_id)
    return json_response(_encode(CONVERSATIONS, row))


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
    row = await _insert(request, MESSAGES, {**values, "conversation_id": conversation.id})
    return _created(MESSAGES, row)


async def _list_messages(
    request: Request[Any, Any, Any], *, conversation_id: str, after: str | None, limit: int
) -> Response[Any]:
    conversation = await _conversation(request, conversation_id)
    found = await list_messages_after(service(request).runtime)(
        scopes=_project(principal(request)),
        conversation_id=conversation.id,
        after=after,
        limit=limit,
    )
    body = (
        b'{"data":['
        + b",".join(_encode(MESSAGES, r) for r in found.data)
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
    row = await _insert(
        request, EVENTS, {**data.model_dump(exclude_unset=True), "conversation_id": conversation.id}
    )
    return _created(EVENTS, row)


async def _create_feedback(
    request: Request[Any, Any, Any], *, conversation_id: str, data: BaseModel
) -> Response[Any]:
    conversation = await _conversation(request, conversation_id)
    values = data.model_dump(exclude_unset=True)
    message = await MESSAGES.get(service(request).runtime)(
        scopes=_project(principal(request)), message_id=values["message_id"]
    )
    if message is None or message.conversation_id != conversation.id:
        text = f"no message {values['message_id']!r} in this conversation"
        raise InvalidReference(
            text,
            errors=[field_error("message_id", text, "invalid_reference")],
            resource="message",
            key={"message_id": values["message_id"]},
        )
    row = await _insert(request, FEEDBACK, {**values, "conversation_id": conversation.id})
    return _created(FEEDBACK, row)


def _children(entity: Entity[Any]) -> Any:
    """The handler listing ``entity``'s rows of one conversation, newest first."""

    async def list_children(
        request: Request[Any, Any, Any], *, conversation_id: str, page: int, limit: int
    ) -> Response[Any]:
        conversation = await _conversation(request, conversation_id)
        return await _page(request, entity, page, limit, {"conversation_id": conversation.id})

    return list_children


async def _get_context_cache_entry(
    request: Request[Any, Any, Any], *, conversation_id: str, context_cache_entry_id: str
) -> Response[Any]:
    conversation = await _conversation(request, conversation_id)
    row = await CONTEXT_CACHE.get(service(request).runtime)(
        scopes=_project(principal(request)), context_cache_entry_id=context_cache_entry_id
    )
    if row is None or row.conversation_id != conversation.id:
        raise _missing(CONTEXT_CACHE, context_cache_entry_id)
    return json_response(_encode(CONTEXT_CACHE, row))


# ---------------------------------------------------------------------- tasks


async def _create_task(
    request: Request[Any, Any, Any], *, data: BaseModel, **kw: Any
) -> Response[Any]:
    caller = principal(request)
    ref = chosen_ref(kw["ref"], kw["ref_header"])
    values = data.model_dump(exclude_unset=True)
    # A sub-agent is known only within its agent: the task must name one.
    agent_id = _agent_of(caller, values.get("agent_id"))
    names = [
        agent("agent_id", agent_id),
        sub_agent("sub_agent_id", agent_id, values["sub_agent_id"]),
    ]
    recorded = await check_run_references(service(request).manage, _project(caller).at(ref), names)
    row = await _insert(request, TASKS, {**values, "agent_id": agent_id, "ref": recorded})
    return _created(TASKS, row, f"{TASKS_PATH}/{row.id}")


async def _list_tasks(request: Request[Any, Any, Any], *, page: int, limit: int) -> Response[Any]:
    return await _page(request, TASKS, page, limit, _agent_filter(principal(request)))


async def _get_task(request: Request[Any, Any, Any], *, task_id: str) -> Response[Any]:
    row = await _task(request, task_id)
    if row is None:
        raise _missing(TASKS, task_id)
    return json_response(_encode(TASKS, row))


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
    row = await _insert(request, TASK_RELATIONS, values)
    return _created(TASK_RELATIONS, row)


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
                raise _missing(TASKS, task_id)
    return await _page(request, TASK_RELATIONS, page, limit, where)


# ---------------------------------------------------------------------- routes


def _select(entity: Entity[Any]) -> type[BaseModel]:
    return entity.models.api_select


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
            returns=_select(CONVERSATIONS),
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
            returns=Page[_select(CONVERSATIONS)],  # type: ignore[misc]
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
            returns=_select(CONVERSATIONS),
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
            returns=_select(MESSAGES),
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
            returns=CursorPage[_select(MESSAGES)],  # type: ignore[misc]
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
            returns=_select(EVENTS),
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
            returns=Page[_select(EVENTS)],  # type: ignore[misc]
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
            returns=_select(FEEDBACK),
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
            returns=Page[_select(FEEDBACK)],  # type: ignore[misc]
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
            returns=Page[_select(CONTEXT_CACHE)],  # type: ignore[misc]
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
            returns=_select(CONTEXT_CACHE),
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
            returns=_select(TASKS),
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
            returns=Page[_select(TASKS)],  # type: ignore[misc]
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
            returns=_select(TASKS),
            **common,
        ),
        route(
            "POST",
            RELATIONS_PATH,
            _create_task_relation,
            operation_id="run_create_task_relation",
            summary="Link a parent task to a child task",
            body=TASK_RELATIONS.models.api_insert,
            returns=_select(TASK_RELATIONS),
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
            returns=Page[_select(TASK_RELATIONS)],  # type: ignore[misc]
            errors=(400, 404),
            **common,
        ),
    ]
