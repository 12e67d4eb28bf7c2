"""Data and artifact components."""

from __future__ import annotations

from agentfold_core.data_access.crud import Entity
from agentfold_core.db.manage.schema import (
    ArtifactComponent,
    ArtifactComponentRow,
    DataComponent,
    DataComponentRow,
)

DATA_COMPONENTS: Entity[DataComponentRow] = Entity(
    DataComponent,
    label="data_component",
    plural="data_components",
    path="data-components",
)
get_data_component = DATA_COMPONENTS.get
list_data_components = DATA_COMPONENTS.list
create_data_component = DATA_COMPONENTS.create
update_data_component = DATA_COMPONENTS.update
upsert_data_component = DATA_COMPONENTS.upsert
delete_data_component = DATA_COMPONENTS.delete

ARTIFACT_COMPONENTS: Entity[ArtifactComponentRow] = Entity(
    ArtifactComponent,
    label="artifact_component",
    plural="artifact_components",
    path="artifact-components",
)
get_artifact_component = ARTIFACT_COMPONENTS.get
list_artifact_components = ARTIFACT_COMPONENTS.list
create_artifact_component = ARTIFACT_COMPONENTS.create
update_artifact_component = ARTIFACT_COMPONENTS.update
upsert_artifact_component = ARTIFACT_COMPONENTS.upsert
delete_artifact_component = ARTIFACT_COMPONENTS.delete
