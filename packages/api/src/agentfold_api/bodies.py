"""Request bodies cut from the core's generated insert models: the columns a route
sets itself left out, every refinement of the others kept."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from agentfold_core.data_access.crud import Entity


def insert_body(
    entity: Entity[Any],
    name: str,
    *,
    drop: Iterable[str] = (),
    optional: Iterable[str] = (),
    required: Iterable[str] = (),
) -> type[BaseModel]:
    """The entity's generated insert model without the columns the route sets, with
    ``optional`` ones defaulted to null and ``required`` ones without a default, keeping
    every refinement of the columns it keeps."""
    fields: dict[str, Any] = {}
    for field_name, info in entity.models.api_insert.model_fields.items():
        kept: Any = info.annotation
        if field_name in drop:
            continue
        if field_name in optional:
            annotation: Any = Annotated[(kept | None, *info.metadata)]
            fields[field_name] = (annotation, Field(default=None, description=info.description))
        elif field_name in required:
            annotation = Annotated[(kept, *info.metadata)]
            fields[field_name] = (annotation, Field(description=info.description))
        else:
            fields[field_name] = (kept, info)
    model: type[BaseModel] = create_model(name, __config__=ConfigDict(extra="forbid"), **fields)
    return model
