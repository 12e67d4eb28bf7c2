"""A project's own manage row (created and deleted by ``data_access.project_lifecycle``)."""

from __future__ import annotations

from agentfold_core.data_access.crud import Entity
from agentfold_core.db.manage.schema import (
    Project,
    ProjectRow,
)

PROJECTS: Entity[ProjectRow] = Entity(Project, label="project", plural="projects", path="projects")
get_project = PROJECTS.get
list_projects = PROJECTS.list
update_project = PROJECTS.update
