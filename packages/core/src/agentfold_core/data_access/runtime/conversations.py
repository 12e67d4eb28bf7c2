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

CONVERSATIONS: Entity[ConversationRow] = Entity(Conversation, label="conversation")
(
    get_conversation,
    list_conversations,
    create_conversation,
    update_conversation,
    upsert_conversation,
    delete_conversation,
) = CONVERSATIONS.functions()

MESSAGES: Entity[MessageRow] = Entity(Message, label="message")
(
    get_message,
    list_messages,
    create_message,
    update_message,
    upsert_message,
    delete_message,
) = MESSAGES.functions()

CONTEXT_CACHE: Entity[ContextCacheRow] = Entity(ContextCache, label="context_cache_entry")
(
    get_context_cache_entry,
    list_context_cache_entries,
    create_context_cache_entry,
    update_context_cache_entry,
    upsert_context_cache_entry,
    delete_context_cache_entry,
) = CONTEXT_CACHE.functions()

EVENTS: Entity[EventRow] = Entity(Event, label="event")
get_event, list_events, create_event, update_event, upsert_event, delete_event = EVENTS.functions()

FEEDBACK: Entity[FeedbackRow] = Entity(Feedback, label="feedback")
(
    get_feedback,
    list_feedback_entries,
    create_feedback,
    update_feedback,
    upsert_feedback,
    delete_feedback,
) = FEEDBACK.functions()
