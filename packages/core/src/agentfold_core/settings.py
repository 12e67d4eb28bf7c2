"""Process settings read from ``AGENTFOLD_*`` environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MANAGE_URL = "sqlite+aiosqlite:///./.agentfold/manage.db"
DEFAULT_RUNTIME_URL = "sqlite+aiosqlite:///./.agentfold/runtime.db"
ENV_PREFIX = "AGENTFOLD_"


def url_variable(role: str) -> str:
    """The environment variable holding the URL of the ``role`` database."""
    return f"{ENV_PREFIX}{role}_DATABASE_URL".upper()


class DatabaseSettings(BaseSettings):
    """Where the two databases live and how connections are pooled."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    manage_database_url: str = DEFAULT_MANAGE_URL
    runtime_database_url: str = DEFAULT_RUNTIME_URL
    pool_size: int = Field(default=10, ge=1, le=1000)
    max_overflow: int = Field(default=10, ge=0, le=1000)
    pool_timeout: float = Field(default=30.0, gt=0)
    pool_recycle: int = Field(default=1800, ge=-1)
    # A liveness round trip per checkout; off by default since a dead connection is
    # detected on use and the pool is invalidated anyway.
    pool_pre_ping: bool = False
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)
    # PgBouncer in transaction mode cannot keep server-side prepared statements.
    prepare_threshold: int | None = Field(default=5, ge=0)
    echo_sql: bool = False
    # Row-level security on PostgreSQL (``db.row_security``): every statement carries
    # its tenant. Off only for a database whose tables have no policies.
    row_security: bool = True
    # The role the application's statements run as, switched to per transaction when
    # the URL logs in as the owner; migrations grant it what it needs.
    app_role: str | None = Field(default=None, min_length=1, max_length=63)
    # The owner's URLs, for migrations, operator commands and the service's reads across
    # tenants; unset, the database URL is the owner's too.
    manage_migration_url: str | None = None
    runtime_migration_url: str | None = None

    def migration_url(self, role: str) -> str:
        """The URL migrations and operator commands of the ``role`` database use."""
        if role == "manage":
            return self.manage_migration_url or self.manage_database_url
        return self.runtime_migration_url or self.runtime_database_url


class SecretSettings(BaseSettings):
    """The master keys of the encrypted credential store."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    # ``id:base64key`` entries separated by commas, the current one first
    # (``agentfold_core.secrets.keyring``). Unset on the embedded SQLite default, a key
    # file is generated beside the runtime database; unset on PostgreSQL, the encrypted
    # store is unavailable.
    secret_keys: SecretStr | None = None
