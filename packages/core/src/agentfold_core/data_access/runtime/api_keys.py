"""API key rows (issuing and verifying keys lives in ``agentfold_core.secrets``)."""

from __future__ import annotations

from agentfold_core.data_access.crud import Entity
from agentfold_core.db.runtime.schema import (
    ApiKey,
    ApiKeyRow,
)

API_KEYS: Entity[ApiKeyRow] = Entity(ApiKey, label="api_key")
(
    get_api_key,
    list_api_keys,
    create_api_key,
    update_api_key,
    upsert_api_key,
    delete_api_key,
) = API_KEYS.functions()
