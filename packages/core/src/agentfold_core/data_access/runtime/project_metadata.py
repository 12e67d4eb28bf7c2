"""Runtime project metadata: the source of truth for a project's existence."""

from __future__ import annotations

from agentfold_core.data_access.crud import Entity
from agentfold_core.db.runtime.schema import (
    ProjectMetadata,
    ProjectMetadataRow,
)

PROJECT_METADATA: Entity[ProjectMetadataRow] = Entity(
    ProjectMetadata,
    label="project_metadata",
    plural="project_metadata",
    path="project-metadata",
)
get_project_metadata = PROJECT_METADATA.get
update_project_metadata = PROJECT_METADATA.update
