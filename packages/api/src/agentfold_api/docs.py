"""The OpenAPI document at ``/openapi.json`` and interactive docs at ``/docs`` with
their assets served from the installed Swagger UI package: the docs work offline."""

from __future__ import annotations

from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, OpenAPIType, Schema, SecurityScheme
from litestar.plugins import OpenAPISchemaPlugin
from litestar.static_files import create_static_files_router
from litestar.typing import FieldDefinition

from agentfold_api import __version__
from agentfold_core.amounts import fixed_point

ASSETS = "/docs/assets"
_FILES = ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css")


def _static_dir() -> Path:
    return Path(str(files("swagger_ui") / "static"))


class AmountSchema(OpenAPISchemaPlugin):
    """Exact amounts (cost, credits) are documented as what the API sends and takes:
    decimal strings (a JSON number is taken too, but may already have lost digits)."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        """Every ``Decimal``, whatever its constraints."""
        return field_definition.is_subclass_of(Decimal)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        """A string of decimal digits."""
        default = field_definition.default
        return Schema(
            type=OpenAPIType.STRING,
            pattern=r"^-?[0-9]+(\.[0-9]+)?$",
            description='An exact decimal amount, as a string (`"0.002500000"`)',
            default=fixed_point(default) if isinstance(default, Decimal) else None,
        )


def openapi_config() -> OpenAPIConfig:
    """OpenAPI 3.1 with the bearer scheme; Swagger UI at ``/docs`` from local assets."""
    return OpenAPIConfig(
        title="agentfold",
        version=__version__,
        description="Versioned configuration (manage) and runtime data of agent platforms.",
        path="/docs",
        render_plugins=[
            SwaggerRenderPlugin(
                path="/",
                js_url=f"{ASSETS}/swagger-ui-bundle.js",
                css_url=f"{ASSETS}/swagger-ui.css",
                standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
                favicon=f"<link rel='icon' type='image/png' href='{ASSETS}/favicon-32x32.png'>",
            )
        ],
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="The operator token or an API key (`af_...`)",
                )
            }
        ),
    )


@get(
    "/openapi.json",
    operation_id="openapi",
    include_in_schema=False,
    sync_to_thread=False,
    opt={"exclude_from_auth": True},
)
def openapi_document(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """The OpenAPI document."""
    schema = request.app.openapi_schema.to_schema()
    return Response(schema, media_type="application/vnd.oai.openapi+json")


def docs_handlers() -> list[HTTPRouteHandler | Any]:
    """The document route and the docs' static assets."""
    static = _static_dir()
    missing = [name for name in _FILES if not (static / name).is_file()]
    if missing:
        raise RuntimeError(f"Swagger UI assets missing from {static}: {', '.join(missing)}")
    return [
        openapi_document,
        create_static_files_router(
            path=ASSETS,
            directories=[static],
            include_in_schema=False,
            opt={"exclude_from_auth": True},
        ),
    ]
