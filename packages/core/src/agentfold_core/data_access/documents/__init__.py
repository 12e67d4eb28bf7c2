"""Whole projects and agents as one JSON document (export, import, edit as code)."""

from agentfold_core.data_access.documents.models import full_agent_model, full_project_model
from agentfold_core.data_access.documents.read import get_full_agent, get_full_project
from agentfold_core.data_access.documents.write import PutResult, put_full_agent, put_full_project

__all__ = [
    "PutResult",
    "full_agent_model",
    "full_project_model",
    "get_full_agent",
    "get_full_project",
    "put_full_agent",
    "put_full_project",
]
