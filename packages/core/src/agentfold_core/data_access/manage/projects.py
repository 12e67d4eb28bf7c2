"""A project's own manage row (created and deleted with ``agentfold_core.data_access.projects``)."""

from __future__ import annotations

from agentfold_core.data_access.crud import Entity
from agentfold_core.db.manage.schema import Project

PROJECTS = Entity(Project, label="project")
(
    get_project,
    list_projects,
    _,
    update_project,
    upsert_project,
    _,
) = PROJECTS.functions()
