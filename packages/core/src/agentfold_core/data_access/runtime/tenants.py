"""Tenants: every runtime row cascades from its tenant."""

from __future__ import annotations

from agentfold_core.data_access.crud import Entity
from agentfold_core.db.runtime.schema import Tenant

TENANTS = Entity(Tenant, label="tenant")
(
    get_tenant,
    _,
    create_tenant,
    update_tenant,
    upsert_tenant,
    delete_tenant,
) = TENANTS.functions()
