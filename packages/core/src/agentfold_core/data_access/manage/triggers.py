"""Webhook triggers of agents."""

from __future__ import annotations

from agentfold_core.data_access.crud import Entity
from agentfold_core.db.manage.schema import (
    Trigger,
    TriggerRow,
)

TRIGGERS: Entity[TriggerRow] = Entity(Trigger, label="trigger")
(
    get_trigger,
    list_triggers,
    create_trigger,
    update_trigger,
    upsert_trigger,
    delete_trigger,
) = TRIGGERS.functions()
