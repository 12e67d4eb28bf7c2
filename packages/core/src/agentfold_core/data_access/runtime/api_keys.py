"""API key rows: issued, verified and revoked here (key material in ``secrets``).

Every function returns ``ApiKeyPublic``: the row without its hash. The hash is read
only inside ``verify_api_key``.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Dialect

from agentfold_core.data_access.crud import Entity
from agentfold_core.data_access.doors import Access, Db, reading, reading_system, writing
from agentfold_core.db.prepared import Prepared, prepare, run
from agentfold_core.db.runtime.schema import (
    API_KEY_ROLE_BINDINGS,
    ApiKey,
    ApiKeyPublic,
    ApiKeyRow,
)
from agentfold_core.db.types import utcnow
from agentfold_core.errors import NotFound, ValidationFailed
from agentfold_core.pagination import DEFAULT_LIMIT, Page
from agentfold_core.scopes import TenantScope
from agentfold_core.secrets.api_keys import VerifiedSecrets, generate_key, parse_key
from agentfold_core.validation import Data

API_KEYS: Entity[ApiKeyRow] = Entity(ApiKey, label="api_key", plural="api_keys", path="api-keys")
delete_api_key = API_KEYS.delete

# The row minus its secrets (a test holds ApiKeyPublic to exactly these fields).
PUBLIC_COLUMNS = tuple(c for c in API_KEYS.traits.columns if c not in API_KEYS.traits.secrets)

_BINDING_COLUMNS = ("project_id", "agent_id")
_ARTICLE = {"admin": "an", "editor": "an"}
# ``last_used_at`` moves at most this often: a key used on every request does not
# cost a write per request.
LAST_USED_RESOLUTION = timedelta(seconds=60)
_VERIFIED = VerifiedSecrets()
# The last row seen of each recently used key and what callers get of it: a key whose
# row has not changed (not revoked, no new expiry, same hash) skips re-validation.
_SEEN: OrderedDict[str, tuple[tuple[Any, ...], ApiKeyPublic]] = OrderedDict()
_SEEN_AT_MOST = 4096


def public(row: ApiKeyRow | Mapping[Any, Any]) -> ApiKeyPublic:
    """An API key row as callers see it: without its hash."""
    values = row.model_dump() if isinstance(row, ApiKeyRow) else {str(k): v for k, v in row.items()}
    return ApiKeyPublic.model_validate({c: values[c] for c in PUBLIC_COLUMNS})


def role_binding_errors(
    role: str, project_id: str | None, agent_id: str | None
) -> list[dict[str, str]]:
    """Field errors of a key whose binding does not fit its role (empty when it fits).

    The same rule is the CHECK constraint ``ck_api_keys_role_binding``.
    """
    bindings = API_KEY_ROLE_BINDINGS.get(role)
    if bindings is None:
        return [{"field": "role", "message": f"unknown role {role!r}", "type": "literal_error"}]
    a_role = f"{_ARTICLE.get(role, 'a')} {role} key"
    errors = []
    for column, binding, value in zip(
        _BINDING_COLUMNS, bindings, (project_id, agent_id), strict=True
    ):
        if binding == "required" and value is None:
            message = f"{a_role} is bound to one {column.removesuffix('_id')}: {column} is required"
        elif binding == "forbidden" and value is not None:
            scope = "whole tenant" if role == "admin" else "whole project"
            message = f"{a_role} covers the {scope}: it takes no {column}"
        else:
            continue
        errors.append({"field": column, "message": message, "type": "api_key_role_binding"})
    return errors


def _check_role_binding(role: str, project_id: str | None, agent_id: str | None) -> None:
    errors = role_binding_errors(role, project_id, agent_id)
    if errors:
        raise ValidationFailed(
            f"invalid api_key: the {role} role does not fit this binding",
            errors=errors,
            resource=API_KEYS.label,
        )


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    """A new key's row and its plaintext, which is never available again."""

    row: ApiKeyPublic
    key: str


def issue_api_key(runtime: Db) -> Callable[..., Awaitable[IssuedApiKey]]:
    """Curried: issue a key of the tenant.

    ``role`` (default ``runner``) decides the binding: ``admin`` keys cover the whole
    tenant (no ``project_id``, no ``agent_id``), ``editor`` and ``viewer`` keys one
    project (no agent), ``runner`` keys one project and optionally one agent.
    """

    async def _issue(*, scopes: TenantScope, data: Data) -> IssuedApiKey:
        material = generate_key()
        async with writing(runtime, scopes) as access:
            values = API_KEYS.insert_values(access.target, data)
            _check_role_binding(values["role"], values.get("project_id"), values.get("agent_id"))
            values.update(
                public_id=material.public_id, key_prefix=material.prefix, key_hash=material.hash
            )
            row = await API_KEYS.insert_row(access, values)
        return IssuedApiKey(row=public(row), key=material.plaintext)

    return _issue


def get_api_key(runtime: Db) -> Callable[..., Awaitable[ApiKeyPublic | None]]:
    """Curried: one key of the tenant (without its hash), or ``None``."""

    async def _get(*, scopes: TenantScope, api_key_id: str) -> ApiKeyPublic | None:
        async with reading(runtime, scopes) as access:
            row = await API_KEYS.fetch(
                access, API_KEYS.key(access.target, {"api_key_id": api_key_id})
            )
        return None if row is None else public(row)

    return _get


def list_api_keys(runtime: Db) -> Callable[..., Awaitable[Page[ApiKeyPublic]]]:
    """Curried: one page of the tenant's keys (without their hashes), newest first."""

    async def _list(
        *,
        scopes: TenantScope,
        page: int = 1,
        limit: int = DEFAULT_LIMIT,
        where: Mapping[str, Any] | None = None,
    ) -> Page[ApiKeyPublic]:
        if where and set(where) & API_KEYS.traits.secrets:
            # Filtering by the hash would tell its value apart, one guess at a time.
            hidden = sorted(set(where) & API_KEYS.traits.secrets)
            raise ValidationFailed(
                f"cannot filter api_key by {hidden[0]!r}",
                errors=[
                    {"field": n, "message": "not a filterable column", "type": "not_filterable"}
                    for n in hidden
                ],
            )
        async with reading(runtime, scopes) as access:
            found = await API_KEYS.fetch_page(access, page=page, limit=limit, where=where)
        return Page[ApiKeyPublic](
            data=[public(row) for row in found.data], pagination=found.pagination
        )

    return _list


def update_api_key(runtime: Db) -> Callable[..., Awaitable[ApiKeyPublic | None]]:
    """Curried: change a key's name, role or expiry; ``None`` when it does not exist.

    The binding (project, agent) and the revocation cannot change; a new role must fit
    the key's binding.
    """

    async def _update(*, scopes: TenantScope, data: Data, api_key_id: str) -> ApiKeyPublic | None:
        values = API_KEYS.update_values(data)
        async with writing(runtime, scopes) as access:
            key = API_KEYS.key(access.target, {"api_key_id": api_key_id})
            if "role" in values:
                # The binding columns never change, so the check holds until the update.
                current = await API_KEYS.fetch(access, key)
                if current is None:
                    return None
                _check_role_binding(values["role"], current.project_id, current.agent_id)
            row = await API_KEYS.update_row(access, key, values)
        return None if row is None else public(row)

    return _update


def verify_api_key(runtime: Db) -> Callable[..., Awaitable[ApiKeyPublic | None]]:
    """Curried: the key's row if the plaintext is valid, unexpired and unrevoked.

    One indexed read per call: scrypt runs the first time a process sees a key, and
    ``last_used_at`` is written at most once per ``LAST_USED_RESOLUTION``. Unknown,
    malformed, wrong, expired and revoked keys all give ``None``, so callers cannot
    tell them apart.
    """

    async def _verify(*, key: str) -> ApiKeyPublic | None:
        parsed = parse_key(key)
        if parsed is None:
            return None
        public_id, secret = parsed
        found = await read_key(runtime, public_id)
        if found is None:
            return None
        row, key_hash = found
        if not _VERIFIED.verify(secret, key_hash):
            return None
        now = utcnow()
        if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
            return None
        if row.last_used_at is not None and now - row.last_used_at < LAST_USED_RESOLUTION:
            return row
        table = API_KEYS.table
        async with writing(runtime, TenantScope(row.tenant_id)) as access:
            # A revocation committed since the read wins: the key is not used.
            used = await access.conn.execute(
                update(table)
                .where(
                    table.c.tenant_id == row.tenant_id,
                    table.c.id == row.id,
                    table.c.revoked_at.is_(None),
                )
                .values(last_used_at=now)
                .returning(*table.c)
            )
            mapping = used.mappings().first()
        return None if mapping is None else public(mapping)

    return _verify


async def read_key(runtime: Db, public_id: str) -> tuple[ApiKeyPublic, str] | None:
    """A key's row (without its hash) and its stored hash, by public id; ``None`` when
    there is no such key. A system read: the tenant is not known until the key is."""
    async with reading_system(runtime) as system:
        lookup = _lookup(system.conn.dialect)
        found = await run(system.conn, lookup, {"public_id": public_id}, point=True)
    if not found:
        return None
    raw = tuple(found[0])
    # Validating the row is most of a verification's cost; an unchanged row (compared
    # whole, hash and revocation included) reuses the model made last time.
    known = _SEEN.get(public_id)
    if known is not None and known[0] == raw:
        _SEEN.move_to_end(public_id)
        model = known[1]
    else:
        model = public(API_KEYS.row(lookup.row(raw)))
        _SEEN[public_id] = (raw, model)
        if len(_SEEN) > _SEEN_AT_MOST:
            _SEEN.popitem(last=False)
    return model, str(raw[lookup.columns.index("key_hash")])


def verified_before(secret: str, key_hash: str) -> bool:
    """Whether this process verified ``secret`` against ``key_hash`` (an HMAC, no scrypt):
    tells a failed attempt with the right secret (expired, revoked) from a guess."""
    return _VERIFIED.knows(secret, key_hash)


@functools.cache
def _lookup(dialect: Dialect) -> Prepared:
    table = API_KEYS.table
    return prepare(select(table).where(table.c.public_id == bindparam("public_id")), dialect)


async def _revoke_row(access: Access, key: Mapping[str, Any]) -> ApiKeyRow | None:
    table = API_KEYS.table
    now = utcnow()
    stmt = (
        update(table)
        .where(*(table.c[name] == value for name, value in key.items()))
        .where(table.c.revoked_at.is_(None))
        .values(revoked_at=now, updated_at=now)
        .returning(*table.c)
    )
    revoked = (await access.conn.execute(stmt)).mappings().first()
    if revoked is not None:
        return API_KEYS.row(revoked)
    # Nothing changed: already revoked (the first time stays) or no such key.
    return await API_KEYS.fetch(access, key)


def revoke_api_key(runtime: Db) -> Callable[..., Awaitable[ApiKeyPublic]]:
    """Curried: revoke a key; it stays listed, and verification fails from then on.

    Revoking is final and idempotent: revoking a revoked key keeps the first time.
    Raises ``NotFound`` when the key does not exist.
    """

    async def _revoke(*, scopes: TenantScope, api_key_id: str) -> ApiKeyPublic:
        async with writing(runtime, scopes) as access:
            row = await _revoke_row(access, API_KEYS.key(access.target, {"api_key_id": api_key_id}))
        if row is None:
            raise NotFound("api key not found", resource="api_key", key={"api_key_id": api_key_id})
        return public(row)

    return _revoke
