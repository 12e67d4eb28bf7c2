"""Who is calling: the operator or an API key, with what it may reach."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from agentfold_core.data_access.runtime.audit_events import OPERATOR, key_principal
from agentfold_core.db.runtime.schema import ApiKeyPublic
from agentfold_core.errors import NotFound

Role = Literal["operator", "admin", "editor", "viewer", "runner"]

# Route groups and the roles allowed to call them at all; anything else is 403.
# Within an allowed group a key still only reaches its own tenant (and project).
Access = Literal["operator", "keys", "tenant", "projects", "read", "write", "run"]
ALLOWED: dict[Access, frozenset[Role]] = {
    "operator": frozenset({"operator"}),
    "keys": frozenset({"operator", "admin"}),
    "tenant": frozenset({"operator", "admin"}),
    "projects": frozenset({"admin"}),
    "read": frozenset({"admin", "editor", "viewer"}),
    "write": frozenset({"admin", "editor"}),
    "run": frozenset({"runner"}),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller."""

    role: Role
    tenant_id: str | None = None
    project_id: str | None = None
    agent_id: str | None = None
    key_id: str | None = None
    key_name: str | None = None

    @classmethod
    def of_key(cls, key: ApiKeyPublic) -> Principal:
        """The principal an API key row stands for."""
        return cls(
            role=key.role,
            tenant_id=key.tenant_id,
            project_id=key.project_id,
            agent_id=key.agent_id,
            key_id=key.id,
            key_name=key.name,
        )

    @property
    def author(self) -> str:
        """How commits made for this caller name their author."""
        if self.role == "operator":
            return "operator"
        return f"api-key:{self.key_name or self.key_id}"

    @property
    def audit_name(self) -> str:
        """How audit events name this caller: ``operator`` or ``api-key:<key id>`` (ids
        are stable and unique in the tenant; names are neither)."""
        if self.role == "operator" or self.key_id is None:
            return OPERATOR
        return key_principal(self.key_id)

    def reaches_tenant(self, tenant_id: str) -> bool:
        """Whether the caller may see anything of ``tenant_id``."""
        return self.role == "operator" or self.tenant_id == tenant_id

    def reaches_project(self, tenant_id: str, project_id: str) -> bool:
        """Whether the caller may see project ``project_id`` of ``tenant_id``."""
        if not self.reaches_tenant(tenant_id):
            return False
        return self.project_id is None or self.project_id == project_id

    def check_reach(self, tenant_id: str | None, project_id: str | None = None) -> None:
        """``NotFound`` (as for a missing resource) unless the caller reaches the tenant
        and project named."""
        if tenant_id is None:
            return
        if not self.reaches_tenant(tenant_id):
            raise NotFound("tenant not found", resource="tenant", key={"tenant_id": tenant_id})
        if project_id is not None and not self.reaches_project(tenant_id, project_id):
            raise NotFound("project not found", resource="project", key={"project_id": project_id})
