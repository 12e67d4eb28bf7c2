"""Scope value objects: every data-access call names the tenant/project/agent it acts in."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agentfold_core.errors import InvalidRef, field_error
from agentfold_core.ids import check_id

DEFAULT_BRANCH = "main"
# Git-like branch/tag names: no spaces, no "..", no leading or trailing "/" or ".".
_REF_RE = re.compile(r"^(?!.*\.\.)(?![./])[A-Za-z0-9._/~^-]{1,256}(?<![./])$")


# Revision suffixes (``main~2``, ``main^``) make a ref that is not a branch name.
_REVISION_CHARACTERS = frozenset("~^")


def check_ref(value: str, field: str = "ref") -> str:
    """Return ``value`` if it is a well-formed ref, else raise ``InvalidRef`` (a
    ``ValueError``) naming ``field``."""
    if not _REF_RE.fullmatch(value):
        message = f"invalid ref {value!r}: a branch, tag or commit name"
        raise InvalidRef(message, errors=[field_error(field, message, "invalid_ref")])
    return value


def check_branch(value: str, field: str = "branch") -> str:
    """Return ``value`` if it can name a branch (a ref without revision suffixes)."""
    check_ref(value, field)
    if _REVISION_CHARACTERS & set(value):
        message = f"invalid branch name {value!r}: no '~' or '^'"
        raise InvalidRef(message, errors=[field_error(field, message, "invalid_branch")])
    return value


def is_branch_name(value: str) -> bool:
    """Whether a well-formed ref is a plain branch name."""
    return not _REVISION_CHARACTERS & set(value)


@dataclass(frozen=True, slots=True)
class TenantScope:
    """Everything inside one tenant."""

    tenant_id: str

    def __post_init__(self) -> None:
        check_id(self.tenant_id, "tenant_id")


@dataclass(frozen=True, slots=True)
class ProjectScope(TenantScope):
    """One project of a tenant, read or written at ``ref`` (a branch for writes)."""

    project_id: str
    ref: str = field(default=DEFAULT_BRANCH, kw_only=True)

    def __post_init__(self) -> None:
        check_id(self.tenant_id, "tenant_id")
        check_id(self.project_id, "project_id")
        check_ref(self.ref)

    def tenant(self) -> TenantScope:
        """The enclosing tenant scope."""
        return TenantScope(self.tenant_id)

    def project(self) -> ProjectScope:
        """This scope reduced to its project (used by subclasses)."""
        return ProjectScope(self.tenant_id, self.project_id, ref=self.ref)

    def at(self, ref: str) -> ProjectScope:
        """The same project at another ref."""
        return ProjectScope(self.tenant_id, self.project_id, ref=ref)


@dataclass(frozen=True, slots=True)
class AgentScope(ProjectScope):
    """One agent of a project."""

    agent_id: str

    def __post_init__(self) -> None:
        ProjectScope.__post_init__(self)
        check_id(self.agent_id, "agent_id")

    def agent(self) -> AgentScope:
        """This scope reduced to its agent."""
        return AgentScope(self.tenant_id, self.project_id, self.agent_id, ref=self.ref)


@dataclass(frozen=True, slots=True)
class SubAgentScope(AgentScope):
    """One sub-agent of an agent."""

    sub_agent_id: str

    def __post_init__(self) -> None:
        AgentScope.__post_init__(self)
        check_id(self.sub_agent_id, "sub_agent_id")


AnyScope = TenantScope | ProjectScope | AgentScope | SubAgentScope
