"""The service under test, in-process: one app per backend, callers with credentials."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from litestar.testing import AsyncTestClient

from tests.support.secret_scan import register_secret

OPERATOR_TOKEN = "test-operator-token"  # noqa: S105 - a test credential
register_secret(OPERATOR_TOKEN)


@dataclass(frozen=True)
class Caller:
    """A client that sends one credential."""

    client: AsyncTestClient[Any]
    token: str | None

    def _headers(self, headers: Mapping[str, str] | None) -> dict[str, str]:
        sent = dict(headers or {})
        if self.token is not None:
            sent.setdefault("authorization", f"Bearer {self.token}")
        return sent

    async def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """Send one request with this caller's credential."""
        return await self.client.request(
            method,
            url,
            json=json,
            content=content,
            headers=self._headers(headers),
            params=params,
        )

    async def get(self, url: str, **kw: Any) -> httpx.Response:
        """GET."""
        return await self.request("GET", url, **kw)

    async def post(self, url: str, **kw: Any) -> httpx.Response:
        """POST."""
        return await self.request("POST", url, **kw)

    async def put(self, url: str, **kw: Any) -> httpx.Response:
        """PUT."""
        return await self.request("PUT", url, **kw)

    async def patch(self, url: str, **kw: Any) -> httpx.Response:
        """PATCH."""
        return await self.request("PATCH", url, **kw)

    async def delete(self, url: str, **kw: Any) -> httpx.Response:
        """DELETE."""
        return await self.request("DELETE", url, **kw)


@dataclass(frozen=True)
class Service:
    """The running app of one backend."""

    client: AsyncTestClient[Any]

    @property
    def operator(self) -> Caller:
        """The operator."""
        return Caller(self.client, OPERATOR_TOKEN)

    @property
    def anonymous(self) -> Caller:
        """No credential at all."""
        return Caller(self.client, None)

    def with_token(self, token: str) -> Caller:
        """A caller sending ``token``."""
        return Caller(self.client, token)

    async def key(
        self, tenant: str, role: str, project: str | None = None, agent: str | None = None
    ) -> Caller:
        """A caller with a new key of ``tenant`` (the tenant is created if needed)."""
        issued = await self.issue(tenant, {"role": role, "project_id": project, "agent_id": agent})
        return self.with_token(issued["key"])

    async def issue(
        self, tenant: str, body: Mapping[str, Any], by: Caller | None = None
    ) -> dict[str, Any]:
        """A new key of ``tenant`` (created if needed), issued by ``by`` (default: the
        operator): the response, its plaintext registered with the log scan."""
        await self.tenant(tenant)
        sent = {"name": f"{body['role']}-key", **{k: v for k, v in body.items() if v is not None}}
        issued = await (by or self.operator).post(f"/manage/tenants/{tenant}/api-keys", json=sent)
        assert issued.status_code == 201, issued.text
        answer: dict[str, Any] = issued.json()
        register_secret(answer["key"])
        return answer

    async def tenant(self, tenant: str) -> None:
        """Create ``tenant`` unless it exists."""
        made = await self.operator.post("/manage/tenants", json={"id": tenant, "name": tenant})
        assert made.status_code in (201, 409), made.text
