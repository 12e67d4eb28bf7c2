"""API key rows: issued, verified and revoked here (key material in ``secrets``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import select, update

from agentfold_core.data_access.crud import Entity
from agentfold_core.data_access.doors import Db, reading_system, writing
from agentfold_core.db.runtime.schema import ApiKey, ApiKeyRow
from agentfold_core.db.types import utcnow
from agentfold_core.errors import NotFound
from agentfold_core.scopes import TenantScope
from agentfold_core.secrets.api_keys import generate_key, parse_key, verify_secret
from agentfold_core.validation import Data

API_KEYS: Entity[ApiKeyRow] = Entity(ApiKey, label="api_key", plural="api_keys", path="api-keys")
get_api_key, list_api_keys = API_KEYS.get, API_KEYS.list
update_api_key, delete_api_key = API_KEYS.update, API_KEYS.delete


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    """A new key's row and its plaintext, which is never available again."""

    row: ApiKeyRow
    key: str


def issue_api_key(runtime: Db) -> Callable[..., Awaitable[IssuedApiKey]]:
    """Curried: issue a key bound to a project (and optionally an agent) of the tenant."""

    async def _issue(*, scopes: TenantScope, data: Data) -> IssuedApiKey:
        material = generate_key()
        async with writing(runtime, scopes) as access:
            values = API_KEYS.insert_values(access.target, data)
            values.update(
                public_id=material.public_id, key_prefix=material.prefix, key_hash=material.hash
            )
            row = await API_KEYS.insert_row(access, values)
        return IssuedApiKey(row=row, key=material.plaintext)

    return _issue


def verify_api_key(runtime: Db) -> Callable[..., Awaitable[ApiKeyRow | None]]:
    """Curried: the key's row if the plaintext is valid, unexpired and unrevoked.

    Records the time of use. Unknown, malformed, wrong, expired and revoked keys all
    give ``None``, so callers cannot tell them apart.
    """

    async def _verify(*, key: str) -> ApiKeyRow | None:
        parsed = parse_key(key)
        if parsed is None:
            return None
        public_id, secret = parsed
        table = API_KEYS.table
        # The tenant is not known until the key is found: a system read by public id.
        async with reading_system(runtime) as access:
            found = (
                (await access.conn.execute(select(table).where(table.c.public_id == public_id)))
                .mappings()
                .first()
            )
        if found is None or not verify_secret(secret, found["key_hash"]):
            return None
        row = API_KEYS.row(found)
        now = utcnow()
        if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
            return None
        async with writing(runtime, TenantScope(row.tenant_id)) as access:
            await access.conn.execute(
                update(table)
                .where(table.c.tenant_id == row.tenant_id, table.c.id == row.id)
                .values(last_used_at=now)
            )
        return row.model_copy(update={"last_used_at": now})

    return _verify


def revoke_api_key(runtime: Db) -> Callable[..., Awaitable[ApiKeyRow]]:
    """Curried: revoke a key now; it stays listed, and verification fails from then on."""

    async def _revoke(*, scopes: TenantScope, api_key_id: str) -> ApiKeyRow:
        row = await update_api_key(runtime)(
            scopes=scopes, api_key_id=api_key_id, data={"revoked_at": utcnow()}
        )
        if row is None:
            raise NotFound("api key not found", resource="api_key", key=api_key_id)
        return row

    return _revoke
