"""Conversations and what hangs off them: messages, context cache, events, feedback."""

from __future__ import annotations

from agentfold_core.data_access.crud import Entity
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
