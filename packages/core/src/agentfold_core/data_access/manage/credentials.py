"""Credential references (where secrets live, never the secrets)."""

from __future__ import annotations

from agentfold_core.data_access.crud import Entity
from agentfold_core.db.manage.schema import (
    CredentialReference,
    CredentialReferenceRow,
)

CREDENTIAL_REFERENCES: Entity[CredentialReferenceRow] = Entity(
    CredentialReference, label="credential_reference"
)
(
    get_credential_reference,
    list_credential_references,
    create_credential_reference,
    update_credential_reference,
    upsert_credential_reference,
    delete_credential_reference,
) = CREDENTIAL_REFERENCES.functions()
