"""Service settings read from ``AGENTFOLD_*`` environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# The largest request body accepted (the core bounds one JSON value at 1 MiB; a
# whole-project document may be larger).
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024


class ApiSettings(BaseSettings):
    """What the HTTP service needs beyond the databases."""

    model_config = SettingsConfigDict(env_prefix="AGENTFOLD_", extra="ignore")

    # The operator credential: manages tenants and their keys. Unset on the embedded
    # SQLite default, one is generated next to the databases; unset on PostgreSQL,
    # the operator routes are off.
    admin_token: SecretStr | None = None
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1024)
