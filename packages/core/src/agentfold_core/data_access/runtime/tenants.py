"""Tenants: every runtime row cascades from its tenant."""

from __future__ import annotations

from agentfold_core.data_access.crud import Entity
from agentfold_core.db.runtime.schema import (
    Tenant,
    TenantRow,
)

TENANTS: Entity[TenantRow] = Entity(Tenant, label="tenant", plural="tenants", path="tenants")
get_tenant = TENANTS.get
create_tenant = TENANTS.create
update_tenant = TENANTS.update
upsert_tenant = TENANTS.upsert
delete_tenant = TENANTS.delete
