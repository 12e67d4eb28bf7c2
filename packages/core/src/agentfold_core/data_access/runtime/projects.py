"""Runtime project metadata: the source of truth for a project's existence."""

from __future__ import annotations

from agentfold_core.data_access.crud import Entity
from agentfold_core.db.runtime.schema import ProjectMetadata

PROJECT_METADATA = Entity(ProjectMetadata, label="project_metadata")
(
    get_project_metadata,
    list_project_metadata_rows,
    _,
    update_project_metadata,
    upsert_project_metadata,
    _,
) = PROJECT_METADATA.functions()
