"""API-key verification under generated input: malformed, truncated, altered, expired
and revoked keys never authenticate and never raise; only the live key itself does."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from agentfold_core.data_access.project_lifecycle import create_project
from agentfold_core.data_access.runtime.api_keys import (
    issue_api_key,
    revoke_api_key,
    verify_api_key,
)
from agentfold_core.data_access.runtime.tenants import create_tenant
from agentfold_core.db.types import utcnow
from agentfold_core.scopes import TenantScope
from agentfold_core.secrets.api_keys import parse_key
from tests.support.databases import TestDatabases


@dataclass(frozen=True)
class Keys:
    """One live key and two dead ones of a tenant."""

    live: str
    live_id: str
    expired: str
    revoked: str


_ISSUED: dict[int, Keys] = {}


async def _keys(databases: TestDatabases) -> Keys:
    # Issued once per database (each issue pays scrypt), shared by every example.
    known = _ISSUED.get(id(databases.runtime))
    if known is not None:
        return known
    runtime = databases.runtime
    tenant = TenantScope(f"fuzz-{secrets.token_hex(4)}")
    await create_tenant(runtime)(scopes=tenant, data={"name": "Fuzz"})
    await create_project(databases.manage, runtime)(
        scopes=tenant, data={"id": "shop", "name": "Shop"}
    )
    issue = issue_api_key(runtime)
    live = await issue(scopes=tenant, data={"project_id": "shop"})
    expired = await issue(
        scopes=tenant,
        data={"project_id": "shop", "expires_at": utcnow() - timedelta(seconds=1)},
    )
    revoked = await issue(scopes=tenant, data={"project_id": "shop"})
    await revoke_api_key(runtime)(scopes=tenant, api_key_id=revoked.row.id)
    keys = Keys(live.key, live.row.id, expired.key, revoked.key)
    _ISSUED[id(runtime)] = keys
    return keys


_KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-."


@st.composite
def candidates(draw: st.DrawFn, keys: Keys) -> str:
    """A token a client might send: noise, or one of the keys cut, altered or padded."""
    base = draw(st.sampled_from([keys.live, keys.expired, keys.revoked]))
    kind = draw(
        st.sampled_from(["text", "key-shaped", "truncated", "altered", "padded", "dead", "swapped"])
    )
    if kind == "text":
        return draw(st.text(max_size=120))
    if kind == "key-shaped":
        public = draw(
            st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=16, max_size=16)
        )
        secret = draw(st.text(alphabet=_KEY_ALPHABET[:-1], min_size=43, max_size=43))
        return f"af_{public}.{secret}"
    if kind == "truncated":
        return base[: draw(st.integers(min_value=0, max_value=len(base) - 1))]
    if kind == "altered":
        at = draw(st.integers(min_value=0, max_value=len(base) - 1))
        char = draw(st.sampled_from(_KEY_ALPHABET))
        return base[:at] + char + base[at + 1 :]
    if kind == "padded":
        pad = draw(st.text(min_size=1, max_size=8))
        return draw(st.sampled_from([pad + base, base + pad]))
    if kind == "dead":
        return draw(st.sampled_from([keys.expired, keys.revoked]))
    # The live key's public id with a dead key's secret, and the reverse.
    live, dead = (
        parse_key(keys.live),
        parse_key(draw(st.sampled_from([keys.expired, keys.revoked]))),
    )
    assert live is not None
    assert dead is not None
    return draw(st.sampled_from([f"af_{live[0]}.{dead[1]}", f"af_{dead[0]}.{live[1]}"]))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_only_the_live_key_authenticates(
    databases: TestDatabases, data: st.DataObject
) -> None:
    keys = await _keys(databases)
    token = data.draw(candidates(keys))
    assume(token != keys.live)
    assert await verify_api_key(databases.runtime)(key=token) is None


async def test_the_live_key_authenticates_between_the_fuzzed_ones(
    databases: TestDatabases,
) -> None:
    keys = await _keys(databases)
    verified = await verify_api_key(databases.runtime)(key=keys.live)
    assert verified is not None
    assert verified.id == keys.live_id
