"""Routes of every manage entity, generated from the core's registry: collection
``GET``/``POST``, item ``GET``/``PATCH``/``PUT``/``DELETE``. No route shape is written per
entity; a table added to the registry gets its routes."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.handlers import HTTPRouteHandler
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from pydantic import BaseModel

from agentfold_api.context import (
    MESSAGE_PARAM,
    PAGE_PARAMS,
    REF_PARAMS,
    commit_headers,
    json_bytes,
    json_response,
    page_response,
    path_scope,
    principal,
    service,
)
from agentfold_api.routes.paths import IDS, PREFIX
from agentfold_api.routing import Param, route
from agentfold_api.writes import committed, refuse_unless_branch
from agentfold_core.data_access.doors import Db, Unit
from agentfold_core.data_access.registry import REGISTRY, Registered
from agentfold_core.data_access.scope_keys import resolve
from agentfold_core.errors import InvalidReference, NotFound, ValidationFailed, field_error
from agentfold_core.pagination import Page
from agentfold_core.scopes import ProjectScope
from agentfold_core.versioning.reads import read_pinned

# Managed by their own routes (created across both databases).
_OWN_ROUTES = frozenset({"projects"})


class EntityRoutes:
    """The routes of one registered manage entity."""

    def __init__(self, entry: Registered) -> None:
        self.entry = entry
        self.entity = entry.entity
        self.level = entry.level
        self.ids = IDS[self.level]
        self.id_param = self.entity.id_param or "id"
        self.collection = f"{PREFIX[self.level]}/{entry.path}"
        self.item = f"{self.collection}/{{{self.id_param}:str}}"
        self.fields = set(self.entity.models.api_select.model_fields)
        self.tag = entry.path
        self.name = entry.singular.replace("_", " ")

    # ------------------------------------------------------------------ helpers

    def encode(self, row: BaseModel) -> bytes:
        """The row as its API JSON (scope columns and secrets left out)."""
        return json_bytes(row, self.fields)

    def _scope(self, request: Request[Any, Any, Any], kw: dict[str, Any]) -> ProjectScope:
        return path_scope(request, self.level, kw)

    def _missing(self, row_id: str) -> NotFound:
        return NotFound(
            f"{self.name} not found", resource=self.entry.singular, key={self.id_param: row_id}
        )

    def _path_params(self, item: bool) -> list[Param]:
        names = (*self.ids, self.id_param) if item else self.ids
        return [Param(n, str) for n in names]

    async def _write(
        self, request: Request[Any, Any, Any], scope: ProjectScope, message: str | None, call: Any
    ) -> tuple[Any, str | None]:
        manage = service(request).manage
        try:
            result, commit = await committed(manage, principal(request), message, call)
        except InvalidReference:
            # A ref that is not a branch has no parent rows to refer to: say so instead.
            await refuse_unless_branch(manage, scope)
            raise
        if result is None or result is False:
            await refuse_unless_branch(manage, scope)
        return result, commit

    # ------------------------------------------------------------------ handlers

    async def list_rows(self, request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
        """One page of rows, newest first."""
        page, limit = kw.pop("page"), kw.pop("limit")
        scope = self._scope(request, kw)
        list_rows = self.entry.function("list")

        async def read(db: Db, at: ProjectScope) -> Page[Any]:
            found: Page[Any] = await list_rows(db)(scopes=at, page=page, limit=limit)
            return found

        found, commit = await read_pinned(service(request).manage, scope, read)
        return page_response(
            (self.encode(r) for r in found.data), found.pagination, headers=commit_headers(commit)
        )

    async def get_row(self, request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
        """One row."""
        row_id = kw.pop(self.id_param)
        scope = self._scope(request, kw)
        get_pinned = self.entry.entity.get_pinned(service(request).manage)
        row, commit = await get_pinned(scopes=scope, **{self.id_param: row_id})
        if row is None:
            raise self._missing(row_id)
        return json_response(self.encode(row), headers=commit_headers(commit))

    async def create_row(self, request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
        """A new row."""
        data, message = kw.pop("data"), kw.pop("commit_message")
        scope = self._scope(request, kw)
        create_row = self.entry.function("create")

        async def call(unit: Unit) -> Any:
            return await create_row(unit)(scopes=scope, data=data)

        row, commit = await self._write(request, scope, message, call)
        location = f"{request.url.path.rstrip('/')}/{row.id}"
        return json_response(
            self.encode(row),
            status_code=HTTP_201_CREATED,
            headers={"location": location, **commit_headers(commit)},
        )

    async def update_row(self, request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
        """Change some columns of a row."""
        row_id, data, message = kw.pop(self.id_param), kw.pop("data"), kw.pop("commit_message")
        scope = self._scope(request, kw)
        update_row = self.entry.function("update")

        async def call(unit: Unit) -> Any:
            return await update_row(unit)(scopes=scope, data=data, **{self.id_param: row_id})

        row, commit = await self._write(request, scope, message, call)
        if row is None:
            raise self._missing(row_id)
        return json_response(self.encode(row), headers=commit_headers(commit))

    async def upsert_row(self, request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
        """Create the row at this id, or replace it whole."""
        row_id, data, message = kw.pop(self.id_param), kw.pop("data"), kw.pop("commit_message")
        scope = self._scope(request, kw)
        values = data.model_dump(exclude_unset=True)
        self._check_put_id(scope, values, row_id)
        upsert_row = self.entry.function("upsert")

        async def call(unit: Unit) -> Any:
            return await upsert_row(unit)(scopes=scope, data=values)

        row, commit = await self._write(request, scope, message, call)
        return json_response(self.encode(row), headers=commit_headers(commit))

    def _check_put_id(self, scope: ProjectScope, values: dict[str, Any], row_id: str) -> None:
        # The path names the row: a body naming another (or, for relations, whose
        # natural key derives another id) is refused rather than written elsewhere.
        if self.entity.traits.derived_id:
            found = self.entity.insert_values(resolve(scope, write=True), values)["id"]
        else:
            found = values.setdefault("id", row_id)
        if found != row_id:
            message = f"the body names {self.name} {found!r}, the path {row_id!r}"
            raise ValidationFailed(message, errors=[field_error("id", message, "id_mismatch")])

    async def delete_row(self, request: Request[Any, Any, Any], **kw: Any) -> Response[Any]:
        """Remove a row (and what cascades from it)."""
        row_id, message = kw.pop(self.id_param), kw.pop("commit_message")
        scope = self._scope(request, kw)
        delete_row = self.entry.function("delete")

        async def call(unit: Unit) -> bool:
            found: bool = await delete_row(unit)(scopes=scope, **{self.id_param: row_id})
            return found

        found, commit = await self._write(request, scope, message, call)
        if not found:
            raise self._missing(row_id)
        return Response(None, status_code=HTTP_204_NO_CONTENT, headers=commit_headers(commit))

    # ------------------------------------------------------------------ routes

    def handlers(self) -> list[HTTPRouteHandler]:
        """Every route of the entity."""
        models = self.entity.models
        select = models.api_select
        ops = self.entry.operations
        plural = self.entry.plural.replace("_", " ")
        reads = [*REF_PARAMS]
        writes = [*REF_PARAMS, MESSAGE_PARAM]
        found: list[HTTPRouteHandler] = []
        if "list" in ops:
            found.append(
                route(
                    "GET",
                    self.collection,
                    self.list_rows,
                    operation_id=self.entry.public_name("list"),
                    summary=f"List {plural}",
                    access="read",
                    params=[*self._path_params(False), *reads, *PAGE_PARAMS],
                    returns=Page[select],  # type: ignore[valid-type]
                    tag=self.tag,
                )
            )
        if "create" in ops:
            found.append(
                route(
                    "POST",
                    self.collection,
                    self.create_row,
                    operation_id=self.entry.public_name("create"),
                    summary=f"Create a {self.name}",
                    access="write",
                    params=[*self._path_params(False), *writes],
                    body=models.api_insert,
                    returns=select,
                    status_code=HTTP_201_CREATED,
                    errors=(409,),
                    tag=self.tag,
                )
            )
        if "get" in ops:
            found.append(
                route(
                    "GET",
                    self.item,
                    self.get_row,
                    operation_id=self.entry.public_name("get"),
                    summary=f"Get a {self.name}",
                    access="read",
                    params=[*self._path_params(True), *reads],
                    returns=select,
                    tag=self.tag,
                )
            )
        if "update" in ops:
            found.append(
                route(
                    "PATCH",
                    self.item,
                    self.update_row,
                    operation_id=self.entry.public_name("update"),
                    summary=f"Change a {self.name}",
                    access="write",
                    params=[*self._path_params(True), *writes],
                    body=models.api_update,
                    returns=select,
                    errors=(409,),
                    tag=self.tag,
                )
            )
        if "upsert" in ops:
            found.append(
                route(
                    "PUT",
                    self.item,
                    self.upsert_row,
                    operation_id=self.entry.public_name("upsert"),
                    summary=f"Create or replace a {self.name}",
                    access="write",
                    params=[*self._path_params(True), *writes],
                    body=models.api_insert,
                    returns=select,
                    errors=(409,),
                    tag=self.tag,
                )
            )
        if "delete" in ops:
            found.append(
                route(
                    "DELETE",
                    self.item,
                    self.delete_row,
                    operation_id=self.entry.public_name("delete"),
                    summary=f"Delete a {self.name}",
                    access="write",
                    params=[*self._path_params(True), *writes],
                    status_code=HTTP_204_NO_CONTENT,
                    errors=(409,),
                    tag=self.tag,
                )
            )
        return found


def entity_handlers() -> list[HTTPRouteHandler]:
    """The routes of every manage entity in the registry."""
    return [
        handler
        for entry in REGISTRY
        if entry.database == "manage" and entry.table not in _OWN_ROUTES
        for handler in EntityRoutes(entry).handlers()
    ]
