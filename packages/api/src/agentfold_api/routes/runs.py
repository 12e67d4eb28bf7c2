"""Run records of a project for its readers (admin, editor and viewer keys): runs by
page with filters, one run, a whole run tree, a run's steps and calls; and usage
reports of a project (its readers) or of the whole tenant (its admins)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, get_args

from litestar import Request, Response
from litestar.handlers import HTTPRouteHandler
from litestar.params import Parameter, QueryParameter

from agentfold_api.context import PAGE_PARAMS, json_response, model_response, page_response, service
from agentfold_api.principal import Access
from agentfold_api.routes.paths import IDS, PREFIX, PROJECT
from agentfold_api.routes.runner import encode, missing, selected
from agentfold_api.routing import Param, route
from agentfold_api.runtime_scopes import existing_project, existing_scope
from agentfold_api.schemas import Rows, UsageGroup, UsageReport
from agentfold_core.data_access.crud import Entity
from agentfold_core.data_access.runtime.calls import LLM_CALLS, TOOL_CALLS
from agentfold_core.data_access.runtime.runs import RUNS, STEPS, run_tree
from agentfold_core.data_access.runtime.usage import usage_report
from agentfold_core.db.columns import ScopeLevel
from agentfold_core.db.runtime.schema import RunStatus
from agentfold_core.db.types import utcnow
from agentfold_core.errors import ValidationFailed, field_error
from agentfold_core.pagination import Page

RUNS_PATH = f"{PROJECT}/runs"
RUN_PATH = f"{RUNS_PATH}/{{run_id:str}}"
# A report without a range covers this much time up to now (or up to ``end``).
DEFAULT_USAGE_SPAN = timedelta(days=30)
_PROJECT = [Param("tenant_id", str), Param("project_id", str)]
_RUN = [*_PROJECT, Param("run_id", str)]
_ID = Parameter(max_length=255)


def _filter(name: str, annotation: Any, description: str) -> Param:
    return Param(
        name,
        Annotated[annotation | None, QueryParameter(name=name, description=description)],
        None,
        query=True,
    )


_RUN_FILTERS = (
    _filter("status", RunStatus, "Only runs with this status"),
    _filter("agent_id", Annotated[str, _ID], "Only runs of this agent"),
    _filter("conversation_id", Annotated[str, _ID], "Only runs of this conversation"),
    _filter("parent_run_id", Annotated[str, _ID], "Only the child runs of this run"),
)
_RANGE = (
    _filter(
        "start",
        datetime,
        "Start of the range, inclusive (ISO 8601; UTC without an offset; default: 30 days"
        " before `end`)",
    ),
    _filter("end", datetime, "End of the range, exclusive (default: now)"),
    Param(
        "group_by",
        Annotated[
            list[UsageGroup | Literal["none"]] | None,
            QueryParameter(
                name="group_by",
                description="Group by any of these (repeat the parameter; default `day`;"
                " `none`: one total row)",
            ),
        ],
        None,
        query=True,
    ),
)


# ---------------------------------------------------------------------- runs


async def _list_runs(
    request: Request[Any, Any, Any],
    *,
    tenant_id: str,
    project_id: str,
    page: int,
    limit: int,
    **filters: Any,
) -> Response[Any]:
    scope = await existing_project(request, tenant_id, project_id)
    where = {name: value for name, value in filters.items() if value is not None}
    found: Page[Any] = await RUNS.list(service(request).runtime)(
        scopes=scope, page=page, limit=limit, where=where
    )
    return page_response((encode(RUNS, r) for r in found.data), found.pagination)


async def _get_run(
    request: Request[Any, Any, Any], *, tenant_id: str, project_id: str, run_id: str
) -> Response[Any]:
    scope = await existing_project(request, tenant_id, project_id)
    row = await RUNS.get(service(request).runtime)(scopes=scope, run_id=run_id)
    if row is None:
        raise missing(RUNS, run_id)
    return json_response(encode(RUNS, row))


async def _run_tree(
    request: Request[Any, Any, Any], *, tenant_id: str, project_id: str, run_id: str
) -> Response[Any]:
    scope = await existing_project(request, tenant_id, project_id)
    rows = await run_tree(service(request).runtime)(scopes=scope, run_id=run_id)
    return json_response(b'{"data":[' + b",".join(encode(RUNS, r) for r in rows) + b"]}")


def _records_of_run(entity: Entity[Any]) -> Any:
    """The handler listing ``entity``'s rows of one run, newest first."""

    async def list_records(
        request: Request[Any, Any, Any],
        *,
        tenant_id: str,
        project_id: str,
        run_id: str,
        page: int,
        limit: int,
    ) -> Response[Any]:
        scope = await existing_project(request, tenant_id, project_id)
        runtime = service(request).runtime
        if await RUNS.get(runtime)(scopes=scope, run_id=run_id) is None:
            raise missing(RUNS, run_id)
        found: Page[Any] = await entity.list(runtime)(
            scopes=scope, page=page, limit=limit, where={"run_id": run_id}
        )
        return page_response((encode(entity, r) for r in found.data), found.pagination)

    return list_records


# ---------------------------------------------------------------------- usage


def _utc(value: datetime, field: str) -> datetime:
    try:
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError as exc:
        raise _out_of_range(field) from exc


def _out_of_range(field: str) -> ValidationFailed:
    message = "a time this far out cannot be reported on"
    return ValidationFailed(message, errors=[field_error(field, message, "range")])


def _time_range(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """The range a report covers: ``end`` default now, ``start`` default 30 days before."""
    until = utcnow() if end is None else _utc(end, "end")
    if start is not None:
        return _utc(start, "start"), until
    try:
        return until - DEFAULT_USAGE_SPAN, until
    except OverflowError as exc:
        raise _out_of_range("end") from exc


async def _usage(
    request: Request[Any, Any, Any],
    *,
    tenant_id: str,
    project_id: str | None = None,
    start: datetime | None,
    end: datetime | None,
    group_by: list[str] | None,
) -> Response[Any]:
    scope = await existing_scope(request, tenant_id, project_id)
    since, until = _time_range(start, end)
    groups = ["day"] if group_by is None else [g for g in get_args(UsageGroup) if g in group_by]
    rows = await usage_report(service(request).runtime)(
        scopes=scope, start=since, end=until, group_by=groups
    )
    report = UsageReport.model_validate(
        {"start": since, "end": until, "group_by": groups, "data": rows}
    )
    return model_response(report)


# ---------------------------------------------------------------------- routes


def run_read_handlers() -> list[HTTPRouteHandler]:
    """Run records and usage for the manage side."""
    common: dict[str, Any] = {"tag": "runs", "access": "read"}
    pages = [*PAGE_PARAMS]
    children: list[tuple[Entity[Any], str, str]] = [
        (STEPS, "steps", "Steps of a run, newest first"),
        (LLM_CALLS, "llm-calls", "LLM calls of a run, newest first"),
        (TOOL_CALLS, "tool-calls", "Tool calls of a run, newest first"),
    ]
    handlers = [
        route(
            "GET",
            RUNS_PATH,
            _list_runs,
            operation_id="list_runs",
            summary="List runs of a project, newest first",
            params=[*_PROJECT, *pages, *_RUN_FILTERS],
            returns=Page[selected(RUNS)],  # type: ignore[misc]
            **common,
        ),
        route(
            "GET",
            RUN_PATH,
            _get_run,
            operation_id="get_run",
            summary="Get a run with its cost, credits and subtree totals",
            params=_RUN,
            returns=selected(RUNS),
            **common,
        ),
        route(
            "GET",
            f"{RUN_PATH}/tree",
            _run_tree,
            operation_id="get_run_tree",
            summary="A run and all its descendants, parents before children",
            params=_RUN,
            returns=Rows[selected(RUNS)],  # type: ignore[misc]
            **common,
        ),
        *(
            route(
                "GET",
                f"{RUN_PATH}/{path}",
                _records_of_run(entity),
                operation_id=f"list_run_{entity.plural}",
                summary=summary,
                params=[*_RUN, *pages],
                returns=Page[selected(entity)],  # type: ignore[misc]
                **common,
            )
            for entity, path, summary in children
        ),
    ]
    usage_access: dict[ScopeLevel, Access] = {
        ScopeLevel.TENANT: "tenant",
        ScopeLevel.PROJECT: "read",
    }
    for level, access in usage_access.items():
        whole = level is ScopeLevel.TENANT
        handlers.append(
            route(
                "GET",
                f"{PREFIX[level]}/usage",
                _usage,
                operation_id="get_tenant_usage" if whole else "get_project_usage",
                summary=f"Usage of {'the whole tenant' if whole else 'a project'}: tokens,"
                " cost, credits and calls over a time range",
                description=(
                    "For the tenant's admins (and the operator)."
                    if whole
                    else "For the project's readers (admin, editor and viewer keys)."
                )
                + " Grouped by any of day, project, agent, model and provider; one query"
                " over the LLM call log.",
                tag="usage",
                access=access,
                params=[*(Param(n, str) for n in IDS[level]), *_RANGE],
                returns=UsageReport,
            )
        )
    return handlers
