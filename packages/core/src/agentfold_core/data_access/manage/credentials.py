"""Credential references (where secrets live, never the secrets)."""

from __future__ import annotations

from agentfold_core.data_access.crud import Entity
from agentfold_core.db.manage.schema import (
    CredentialReference,
    CredentialReferenceRow,
)

CREDENTIAL_REFERENCES: Entity[CredentialReferenceRow] = Entity(
    CredentialReference,
    label="credential_reference",
    plural="credential_references",
    path="credentials",
)
get_credential_reference = CREDENTIAL_REFERENCES.get
list_credential_references = CREDENTIAL_REFERENCES.list
create_credential_reference = CREDENTIAL_REFERENCES.create
update_credential_reference = CREDENTIAL_REFERENCES.update
upsert_credential_reference = CREDENTIAL_REFERENCES.upsert
delete_credential_reference = CREDENTIAL_REFERENCES.delete
