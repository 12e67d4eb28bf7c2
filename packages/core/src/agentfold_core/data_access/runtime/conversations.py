"""Conversations and what hangs off them: messages, context cache, events, feedback."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy.engine import Dialect

from agentfold_core.data_access.crud import Entity, bound
from agentfold_core.data_access.doors import Db, reading
from agentfold_core.db.prepared import Prepared, prepare, run
from agentfold_core.db.runtime.schema import (
    ContextCache,
    ContextCacheRow,
    Conversation,
    ConversationRow,
    Event,
    EventRow,
    Feedback,
    FeedbackRow,
    Message,
    MessageRow,
)
from agentfold_core.errors import ValidationFailed, field_error
from agentfold_core.ids import check_id
from agentfold_core.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    CursorPage,
    decode_cursor,
    encode_cursor,
)
from agentfold_core.scopes import ProjectScope

CONVERSATIONS: Entity[ConversationRow] = Entity(
    Conversation,
    label="conversation",
    plural="conversations",
    path="conversations",
)
get_conversation = CONVERSATIONS.get
list_conversations = CONVERSATIONS.list
create_conversation = CONVERSATIONS.create
update_conversation = CONVERSATIONS.update
upsert_conversation = CONVERSATIONS.upsert
delete_conversation = CONVERSATIONS.delete

MESSAGES: Entity[MessageRow] = Entity(Message, label="message", plural="messages", path="messages")
get_message = MESSAGES.get
list_messages = MESSAGES.list
create_message = MESSAGES.create
update_message = MESSAGES.update
upsert_message = MESSAGES.upsert
delete_message = MESSAGES.delete


def list_messages_after(db: Db) -> Callable[..., Awaitable[CursorPage[MessageRow]]]:
    """Curried: up to ``limit`` messages of a conversation after the cursor ``after``
    (from its start without one), oldest first by (``created_at``, ``id``), and the
    cursor of the messages that follow. Keyset pages: a long conversation is walked in
    index order, each message once, however many are appended meanwhile."""

    async def _list_messages_after(
        *,
        scopes: ProjectScope,
        conversation_id: str,
        after: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> CursorPage[MessageRow]:
        check_id(conversation_id, "conversation_id")
        if not 1 <= limit <= MAX_LIMIT:
            message = f"must be 1..{MAX_LIMIT}"
            raise ValidationFailed(
                f"limit {message}", errors=[field_error("limit", message, "range")]
            )
        position = decode_cursor(after) if after is not None else None
        async with reading(db, scopes) as access:
            values = {**MESSAGES.scope_key(access.target), "conversation_id": conversation_id}
            params = {**bound(values), "k_limit": limit + 1}
            if position is not None:
                params["k_after_at"], params["k_after_id"] = position
            prepared = _messages_after(access.conn.dialect, position is not None)
            rows = [MESSAGES.row(prepared.row(r)) for r in await run(access.conn, prepared, params)]
        more = len(rows) > limit
        rows = rows[:limit]
        last = rows[-1] if more else None
        return CursorPage[MessageRow](
            data=rows, next_cursor=encode_cursor(last.created_at, last.id) if last else None
        )

    return _list_messages_after


@functools.cache
def _messages_after(dialect: Dialect, after: bool) -> Prepared:
    # Compiled once per dialect. The range on created_at rides the index on
    # (tenant_id, project_id, conversation_id, created_at); the id breaks ties of equal
    # timestamps, so a page boundary between them loses and repeats nothing.
    table = MESSAGES.table
    at = table.c.created_at
    stmt: Select[Any] = select(table).where(
        *(table.c[n] == bindparam(f"k_{n}") for n in ("tenant_id", "project_id", "conversation_id"))
    )
    if after:
        since = bindparam("k_after_at", type_=at.type)
        stmt = stmt.where(at >= since, or_(at > since, table.c.id > bindparam("k_after_id")))
    return prepare(stmt.order_by(at, table.c.id).limit(bindparam("k_limit")), dialect)


CONTEXT_CACHE: Entity[ContextCacheRow] = Entity(
    ContextCache,
    label="context_cache_entry",
    plural="context_cache_entries",
    path="context-cache",
)
get_context_cache_entry = CONTEXT_CACHE.get
list_context_cache_entries = CONTEXT_CACHE.list
create_context_cache_entry = CONTEXT_CACHE.create
update_context_cache_entry = CONTEXT_CACHE.update
upsert_context_cache_entry = CONTEXT_CACHE.upsert
delete_context_cache_entry = CONTEXT_CACHE.delete

EVENTS: Entity[EventRow] = Entity(Event, label="event", plural="events", path="events")
get_event = EVENTS.get
list_events = EVENTS.list
create_event = EVENTS.create
update_event = EVENTS.update
upsert_event = EVENTS.upsert
delete_event = EVENTS.delete

FEEDBACK: Entity[FeedbackRow] = Entity(
    Feedback,
    label="feedback",
    plural="feedback_entries",
    path="feedback",
)
get_feedback = FEEDBACK.get
list_feedback_entries = FEEDBACK.list
create_feedback = FEEDBACK.create
update_feedback = FEEDBACK.update
upsert_feedback = FEEDBACK.upsert
delete_feedback = FEEDBACK.delete
