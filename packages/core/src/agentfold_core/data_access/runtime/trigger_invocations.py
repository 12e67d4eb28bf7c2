"""Calls of webhook triggers."""

from __future__ import annotations

from agentfold_core.data_access.crud import Entity
from agentfold_core.db.runtime.schema import (
    TriggerInvocation,
    TriggerInvocationRow,
)

TRIGGER_INVOCATIONS: Entity[TriggerInvocationRow] = Entity(
    TriggerInvocation,
    label="trigger_invocation",
    plural="trigger_invocations",
    path="trigger-invocations",
)
get_trigger_invocation = TRIGGER_INVOCATIONS.get
list_trigger_invocations = TRIGGER_INVOCATIONS.list
create_trigger_invocation = TRIGGER_INVOCATIONS.create
update_trigger_invocation = TRIGGER_INVOCATIONS.update
upsert_trigger_invocation = TRIGGER_INVOCATIONS.upsert
delete_trigger_invocation = TRIGGER_INVOCATIONS.delete
