"""Calls of webhook triggers."""

from __future__ import annotations

from agentfold_core.data_access.crud import Entity
from agentfold_core.db.runtime.schema import (
    TriggerInvocation,
    TriggerInvocationRow,
)

TRIGGER_INVOCATIONS: Entity[TriggerInvocationRow] = Entity(
    TriggerInvocation, label="trigger_invocation"
)
(
    get_trigger_invocation,
    list_trigger_invocations,
    create_trigger_invocation,
    update_trigger_invocation,
    upsert_trigger_invocation,
    delete_trigger_invocation,
) = TRIGGER_INVOCATIONS.functions()
