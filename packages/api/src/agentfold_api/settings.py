"""Service settings read from ``AGENTFOLD_*`` environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentfold_core.data_access.runtime.sweep import DEFAULT_STALE_AFTER

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
    # Housekeeping in the background (maintenance.py): the stuck-run sweep and retention,
    # at start and then every interval. Off where the databases are shared with work
    # that must not be swept under it (tests).
    maintenance: bool = True
    sweep_interval_seconds: float = Field(default=60.0, gt=0, le=86_400)
    # A running run without a heartbeat for this long is failed by the sweep.
    stale_run_seconds: float = Field(
        default=DEFAULT_STALE_AFTER.total_seconds(), ge=1, le=30 * 86_400
    )
    retention_interval_seconds: float = Field(default=3600.0, gt=0, le=7 * 86_400)
