"""Data and artifact components."""

from __future__ import annotations

from agentfold_core.data_access.crud import Entity
from agentfold_core.db.manage.schema import (
    ArtifactComponent,
    ArtifactComponentRow,
    DataComponent,
    DataComponentRow,
)

DATA_COMPONENTS: Entity[DataComponentRow] = Entity(DataComponent, label="data_component")
(
    get_data_component,
    list_data_components,
    create_data_component,
    update_data_component,
    upsert_data_component,
    delete_data_component,
) = DATA_COMPONENTS.functions()

ARTIFACT_COMPONENTS: Entity[ArtifactComponentRow] = Entity(
    ArtifactComponent, label="artifact_component"
)
(
    get_artifact_component,
    list_artifact_components,
    create_artifact_component,
    update_artifact_component,
    upsert_artifact_component,
    delete_artifact_component,
) = ARTIFACT_COMPONENTS.functions()
