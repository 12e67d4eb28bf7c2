"""Sealed credential secrets of the encrypted store (encryption in ``secrets.envelope``).

Reads return ``CredentialSecretPublic``: the row without its envelope. The envelope
is read only by ``read_sealed`` (to decrypt), ``read_sealed_secret`` (the whole row)
and ``secrets_to_rewrap`` (key rotation); it is written only by ``store_sealed_secret``
and ``rewrap_secrets``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert, Update, and_, bindparam, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from agentfold_core.data_access.crud import Entity, bound
from agentfold_core.data_access.doors import Db, reading, reading_system, writing
from agentfold_core.data_access.secret_columns import refuse_secret_filters
from agentfold_core.db.integrity import domain_errors
from agentfold_core.db.prepared import Prepared, prepare, run, string_binds
from agentfold_core.db.runtime.schema import (
    CredentialSecret,
    CredentialSecretPublic,
    CredentialSecretRow,
)
from agentfold_core.db.types import utcnow
from agentfold_core.ids import check_id
from agentfold_core.pagination import DEFAULT_LIMIT, Page
from agentfold_core.scopes import ProjectScope, TenantScope
from agentfold_core.secrets.envelope import Sealed

CREDENTIAL_SECRETS: Entity[CredentialSecretRow] = Entity(
    CredentialSecret,
    label="credential_secret",
    plural="credential_secrets",
    path="credential-secrets",
)
delete_credential_secret = CREDENTIAL_SECRETS.delete

PUBLIC_COLUMNS = tuple(
    c for c in CREDENTIAL_SECRETS.traits.columns if c not in CREDENTIAL_SECRETS.traits.secrets
)
_ENVELOPE = ("scheme", "key_id", "wrapped_key", "wrap_nonce", "nonce", "ciphertext")
_KEY = ("tenant_id", "project_id", "id")


def public(row: CredentialSecretRow | Mapping[Any, Any]) -> CredentialSecretPublic:
    """A stored secret as callers see it: without its envelope."""
    values = (
        row.model_dump()
        if isinstance(row, CredentialSecretRow)
        else {str(k): v for k, v in row.items()}
    )
    return CredentialSecretPublic.model_validate({c: values[c] for c in PUBLIC_COLUMNS})


def sealed_of(row: CredentialSecretRow) -> Sealed:
    """The envelope of a stored secret."""
    return Sealed(**{name: getattr(row, name) for name in _ENVELOPE})


def get_credential_secret(runtime: Db) -> Callable[..., Awaitable[CredentialSecretPublic | None]]:
    """Curried: what is stored of one secret (never its envelope), or ``None``."""

    async def _get(
        *, scopes: ProjectScope, credential_secret_id: str
    ) -> CredentialSecretPublic | None:
        row = await read_sealed_secret(runtime)(
            scopes=scopes, credential_secret_id=credential_secret_id
        )
        return None if row is None else public(row)

    return _get


def list_credential_secrets(runtime: Db) -> Callable[..., Awaitable[Page[CredentialSecretPublic]]]:
    """Curried: one page of a project's stored secrets (never their envelopes), newest first."""

    async def _list(
        *,
        scopes: ProjectScope,
        page: int = 1,
        limit: int = DEFAULT_LIMIT,
        where: Mapping[str, Any] | None = None,
    ) -> Page[CredentialSecretPublic]:
        refuse_secret_filters(CREDENTIAL_SECRETS, where)
        async with reading(runtime, scopes) as access:
            found = await CREDENTIAL_SECRETS.fetch_page(access, page=page, limit=limit, where=where)
        return Page[CredentialSecretPublic](
            data=[public(row) for row in found.data], pagination=found.pagination
        )

    return _list


def read_sealed_secret(runtime: Db) -> Callable[..., Awaitable[CredentialSecretRow | None]]:
    """Curried: one stored secret with its envelope (to decrypt it), or ``None``."""

    async def _read(
        *, scopes: ProjectScope, credential_secret_id: str
    ) -> CredentialSecretRow | None:
        async with reading(runtime, scopes) as access:
            key = CREDENTIAL_SECRETS.key(
                access.target, {"credential_secret_id": credential_secret_id}
            )
            return await CREDENTIAL_SECRETS.fetch(access, key)

    return _read


def read_sealed(runtime: Db) -> Callable[..., Awaitable[Sealed | None]]:
    """Curried: the envelope of one stored secret (to decrypt it), or ``None``."""

    async def _read(*, scopes: ProjectScope, credential_secret_id: str) -> Sealed | None:
        async with reading(runtime, scopes) as access:
            key = CREDENTIAL_SECRETS.key(
                access.target, {"credential_secret_id": credential_secret_id}
            )
            # The envelope's columns only, by key, not validated as a whole row: this
            # read runs on every use of a secret.
            rows = await run(
                access.conn, _envelope_read(access.conn.dialect), bound(key), point=True
            )
        return Sealed(**dict(zip(_ENVELOPE, rows[0], strict=True))) if rows else None

    return _read


@functools.cache
def _envelope_read(dialect: Dialect) -> Prepared:
    table = CREDENTIAL_SECRETS.table
    keys = string_binds(*_KEY)
    stmt = select(*(table.c[name] for name in _ENVELOPE)).where(
        *(table.c[name] == bind for name, bind in zip(_KEY, keys, strict=True))
    )
    return prepare(stmt, dialect)


@functools.cache
def _store_statement(dialect: str) -> Insert:
    # Insert, or replace the envelope in place: creation time kept, version bumped (the
    # compare-and-set of a concurrent rotation then misses, as it must).
    table = CREDENTIAL_SECRETS.table
    module = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(table)
    replaced: dict[str, Any] = {name: stmt.excluded[name] for name in (*_ENVELOPE, "updated_at")}
    replaced["version"] = table.c.version + 1
    upsert: Insert = stmt.on_conflict_do_update(index_elements=list(_KEY), set_=replaced)
    return upsert.returning(*table.c)


def store_sealed_secret(runtime: Db) -> Callable[..., Awaitable[CredentialSecretPublic]]:
    """Curried: create or replace one secret's envelope; what is stored of it."""

    async def _store(
        *, scopes: ProjectScope, credential_secret_id: str, sealed: Sealed
    ) -> CredentialSecretPublic:
        check_id(credential_secret_id, "credential_secret_id")
        async with writing(runtime, scopes) as access:
            now = utcnow()
            values = {
                **CREDENTIAL_SECRETS.scope_key(access.target),
                "id": credential_secret_id,
                **{name: getattr(sealed, name) for name in _ENVELOPE},
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
            stmt = _store_statement(access.conn.dialect.name)
            with domain_errors(CREDENTIAL_SECRETS.label, CREDENTIAL_SECRETS.key_of(values)):
                stored = (await access.conn.execute(stmt, values)).mappings().one()
        return public(stored)

    return _store


@dataclass(frozen=True, slots=True)
class Rewrap:
    """A re-wrapped envelope for one row, valid only while the row is at ``version``."""

    project_id: str
    id: str
    version: int
    sealed: Sealed


@functools.cache
def _rewrap_statement() -> Update:
    table = CREDENTIAL_SECRETS.table
    return (
        update(table)
        .where(
            table.c.tenant_id == bindparam("k_tenant_id"),
            table.c.project_id == bindparam("k_project_id"),
            table.c.id == bindparam("k_id"),
            table.c.version == bindparam("k_version"),
        )
        .values(
            key_id=bindparam("v_key_id"),
            wrapped_key=bindparam("v_wrapped_key"),
            wrap_nonce=bindparam("v_wrap_nonce"),
            version=table.c.version + 1,
        )
        .returning(table.c.id)
    )


def rewrap_secrets(runtime: Db) -> Callable[..., Awaitable[int]]:
    """Curried: apply re-wrapped envelopes to rows of one tenant, in one transaction;
    how many rows took theirs (a row written since it was read keeps its new value)."""

    async def _rewrap(*, scopes: TenantScope, rewraps: Sequence[Rewrap]) -> int:
        applied = 0
        stmt = _rewrap_statement()
        async with writing(runtime, scopes) as access:
            for item in rewraps:
                found = await access.conn.execute(
                    stmt,
                    {
                        "k_tenant_id": access.target.tenant_id,
                        "k_project_id": item.project_id,
                        "k_id": item.id,
                        "k_version": item.version,
                        "v_key_id": item.sealed.key_id,
                        "v_wrapped_key": item.sealed.wrapped_key,
                        "v_wrap_nonce": item.sealed.wrap_nonce,
                    },
                )
                applied += len(found.all())
        return applied

    return _rewrap


SecretKey = tuple[str, str, str]


def secrets_to_rewrap(runtime: Db) -> Callable[..., Awaitable[list[CredentialSecretRow]]]:
    """Curried: up to ``limit`` stored secrets not wrapped by ``key_id``, in key order
    after ``after`` (a (tenant, project, id) cursor), across tenants (key rotation)."""

    async def _find(
        *,
        key_id: str,
        limit: int,
        after: SecretKey | None = None,
        tenant_id: str | None = None,
    ) -> list[CredentialSecretRow]:
        table = CREDENTIAL_SECRETS.table
        key = tuple_(*(table.c[name] for name in _KEY))
        conditions = [table.c.key_id != key_id]
        if after is not None:
            conditions.append(key > tuple_(*after))
        if tenant_id is not None:
            conditions.append(table.c.tenant_id == tenant_id)
        stmt = select(table).where(and_(*conditions)).order_by(*key.clauses).limit(limit)
        async with reading_system(runtime) as system:
            found = (await system.conn.execute(stmt)).mappings().all()
        return [CREDENTIAL_SECRETS.row(row) for row in found]

    return _find


def count_secrets_by_key(runtime: Db) -> Callable[..., Awaitable[dict[str, int]]]:
    """Curried: how many stored secrets each master key id wraps, across tenants."""

    async def _count(*, tenant_id: str | None = None) -> dict[str, int]:
        table = CREDENTIAL_SECRETS.table
        stmt = select(table.c.key_id, func.count()).group_by(table.c.key_id)
        if tenant_id is not None:
            stmt = stmt.where(table.c.tenant_id == tenant_id)
        async with reading_system(runtime) as system:
            found = (await system.conn.execute(stmt)).all()
        return {str(key_id): int(count) for key_id, count in found}

    return _count
