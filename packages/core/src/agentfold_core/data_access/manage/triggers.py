"""Webhook triggers of agents."""

from __future__ import annotations

from agentfold_core.data_access.crud import Entity
from agentfold_core.db.manage.schema import (
    Trigger,
    TriggerRow,
)

TRIGGERS: Entity[TriggerRow] = Entity(Trigger, label="trigger", plural="triggers", path="triggers")
get_trigger = TRIGGERS.get
list_triggers = TRIGGERS.list
create_trigger = TRIGGERS.create
update_trigger = TRIGGERS.update
upsert_trigger = TRIGGERS.upsert
delete_trigger = TRIGGERS.delete
