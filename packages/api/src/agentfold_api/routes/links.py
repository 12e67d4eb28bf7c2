"""What a sub-agent uses, by target id: link (``PUT``), unlink (``DELETE``), and the
"used by" read of every target (which sub-agents link to this tool, skill, agent...).
Generated from the core's link kinds and the document tree's names for them."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.handlers import HTTPRouteHandler
from litestar.status_codes import HTTP_204_NO_CONTENT
from pydantic import ConfigDict, create_model

from agentfold_api.context import (
    MESSAGE_PARAM,
    REF_PARAMS,
    chosen_ref,
    commit_headers,
    json_bytes,
    json_response,
    path_scope,
    principal,
    project_scope_at,
    service,
)
from agentfold_api.routes.paths import IDS, PREFIX
from agentfold_api.routing import Param, route
from agentfold_api.writes import committed, refuse_unless_branch
from agentfold_core.data_access.documents.tree import SUB_AGENT_NODE
from agentfold_core.data_access.doors import Db, Unit
from agentfold_core.data_access.links import Link
from agentfold_core.data_access.manage.sub_agent_links import LINKS
from agentfold_core.data_access.registry import REGISTRY
from agentfold_core.db.columns import ScopeLevel
from agentfold_core.errors import NotFound
from agentfold_core.scopes import ProjectScope, SubAgentScope
from agentfold_core.versioning.reads import read_pinned


class LinkRoutes:
    """Link, unlink and "used by" of one link kind."""

    def __init__(self, link: Link[Any], segment: str) -> None:
        self.link = link
        self.entity = link.entity
        self.target = REGISTRY.table(link.target_table)
        self.segment = segment
        self.name = segment.replace("-", " ")
        select = self.entity.models.api_select
        self.fields = set(select.model_fields)
        insert = self.entity.models.api_insert
        # The target comes from the path, the rest of the link from the body.
        fields: dict[str, Any] = {
            n: (f.annotation, f) for n, f in insert.model_fields.items() if n != link.target
        }
        self.body = create_model(
            f"{insert.__name__}Link", __config__=ConfigDict(extra="forbid"), **fields
        )
        # A "used by" row names the sub-agent holding the link.
        self.user = create_model(
            f"{select.__name__}User", __base__=select, agent_id=(str, ...), sub_agent_id=(str, ...)
        )
        self.user_fields = {*self.fields, "agent_id", "sub_agent_id"}
        self.target_id = self.target.entity.id_param or "id"

    def _scope(
        self, request: Request[Any, Any, Any], level: ScopeLevel, kw: dict[str, Any]
    ) -> ProjectScope:
        return path_scope(request, level, kw)

    async def put(self, request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
        """Link the sub-agent to the target (create or replace the link)."""
        target_id, data, message = (
            kw.pop(self.link.target),
            kw.pop("data"),
            kw.pop("commit_message"),
        )
        scope = self._scope(request, ScopeLevel.SUB_AGENT, kw)
        values = {**data.model_dump(exclude_unset=True), self.link.target: target_id}

        async def call(unit: Unit) -> Any:
            return await self.link.link(unit)(scopes=scope, data=values)

        row, commit = await committed(service(request).manage, principal(request), message, call)
        return json_response(json_bytes(row, self.fields), headers=commit_headers(commit))

    async def delete(self, request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
        """Remove the sub-agent's link to the target."""
        target_id, message = kw.pop(self.link.target), kw.pop("commit_message")
        scope = self._scope(request, ScopeLevel.SUB_AGENT, kw)
        if not isinstance(scope, SubAgentScope):
            raise TypeError("a link route without a sub-agent scope")

        async def call(unit: Unit) -> bool:
            found: bool = await self.link.unlink(unit)(
                scopes=scope, **{self.link.target: target_id}
            )
            return found

        state = service(request)
        found, commit = await committed(state.manage, principal(request), message, call)
        if not found:
            await refuse_unless_branch(state.manage, scope)
            raise NotFound(
                f"{self.name} link not found",
                resource=self.entity.label,
                key={self.link.target: target_id},
            )
        return Response(None, status_code=HTTP_204_NO_CONTENT, headers=commit_headers(commit))

    async def used_by(self, request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
        """Every sub-agent linking to the target."""
        target_id = kw.pop(self.target_id)
        ref = chosen_ref(kw.pop("ref", None), kw.pop("ref_header", None))
        # A target scoped by agent (a function tool) is used by that agent's sub-agents.
        agent_id = kw.pop("agent_id", None)
        scope = project_scope_at(ScopeLevel.PROJECT, principal(request), kw, ref)

        async def read(db: Db, at: ProjectScope) -> Any:
            return await self.link.users(db)(scopes=at, **{self.link.target: target_id})

        rows, commit = await read_pinned(service(request).manage, scope, read)
        shown = [r for r in rows if agent_id is None or r.agent_id == agent_id]
        body = b"[" + b",".join(json_bytes(r, self.user_fields) for r in shown) + b"]"
        return json_response(body, headers=commit_headers(commit))

    def handlers(self) -> list[HTTPRouteHandler]:
        """The three routes of this link kind."""
        # The link's own column names the target in its path (``target_agent_id`` of a
        # team link cannot be ``agent_id``: that is the sub-agent's agent).
        item = f"{PREFIX[ScopeLevel.SUB_AGENT]}/{self.segment}/{{{self.link.target}:str}}"
        target = f"{PREFIX[self.target.level]}/{self.target.path}/{{{self.target_id}:str}}/used-by"
        sub_agent = [Param(n, str) for n in (*IDS[ScopeLevel.SUB_AGENT], self.link.target)]
        target_params = [Param(n, str) for n in (*IDS[self.target.level], self.target_id)]
        writes = [*sub_agent, *REF_PARAMS, MESSAGE_PARAM]
        label = self.link.target.removesuffix("_id")
        tag = "links"
        return [
            route(
                "PUT",
                item,
                self.put,
                operation_id=f"link_{label}",
                summary=f"Link a sub-agent to a {label.replace('_', ' ')}",
                tag=tag,
                access="write",
                params=writes,
                body=self.body,
                returns=self.entity.models.api_select,
                errors=(409,),
            ),
            route(
                "DELETE",
                item,
                self.delete,
                operation_id=f"unlink_{label}",
                summary=f"Unlink a sub-agent from a {label.replace('_', ' ')}",
                tag=tag,
                access="write",
                params=writes,
                status_code=HTTP_204_NO_CONTENT,
                errors=(409,),
            ),
            route(
                "GET",
                target,
                self.used_by,
                operation_id=f"list_users_of_{label}",
                summary=f"Sub-agents linking to a {label.replace('_', ' ')}",
                tag=tag,
                access="read",
                params=[*target_params, *REF_PARAMS],
                returns=list[self.user],  # type: ignore[name-defined]
            ),
        ]


def link_handlers() -> list[HTTPRouteHandler]:
    """Routes of every link kind, named as the document tree names them."""
    segments = {
        node.entity.traits.name: node.key.replace("_", "-") for node in SUB_AGENT_NODE.children
    }
    return [
        handler
        for link in LINKS
        for handler in LinkRoutes(link, segments[link.entity.traits.name]).handlers()
    ]
