"""Reading revision scripts and a database's place in their history."""

from __future__ import annotations

import re

from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection

from agentfold_core.migrations.config import script_directory
from agentfold_core.migrations.results import CurrentState, RevisionInfo
from agentfold_core.migrations.spec import EnvironmentSpec, spec_for

_CREATE_DATE = re.compile(r"^Create Date:\s*(.+)$", re.MULTILINE)


def _as_tuple(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _info(script: Script, heads: set[str]) -> RevisionInfo:
    found = _CREATE_DATE.search(script.longdoc or "")
    return RevisionInfo(
        revision=script.revision,
        down_revisions=_as_tuple(script.down_revision),
        message=script.doc,
        is_head=script.revision in heads,
        path=script.path,
        create_date=found.group(1).strip() if found else None,
    )


def revisions(role: str) -> list[RevisionInfo]:
    """Every revision of ``role``'s environment, newest first."""
    scripts = script_directory(spec_for(role))
    heads = set(scripts.get_heads())
    return [_info(script, heads) for script in scripts.walk_revisions()]


def messages(scripts: ScriptDirectory, revision_ids: tuple[str, ...]) -> dict[str, str]:
    """The message of each known revision in ``revision_ids``."""
    found: dict[str, str] = {}
    for revision_id in revision_ids:
        try:
            script = scripts.get_revision(revision_id)
        except CommandError:
            continue  # a revision of a newer version of agentfold
        if script is not None:
            found[revision_id] = script.doc
    return found


def current_heads(connection: Connection, spec: EnvironmentSpec) -> tuple[str, ...]:
    """The revisions recorded in the database's version table (none without the table)."""
    context = MigrationContext.configure(connection, opts={"version_table": spec.version_table})
    return tuple(context.get_current_heads())


def current_state(connection: Connection | None, spec: EnvironmentSpec) -> CurrentState:
    """Where the database behind ``connection`` stands; ``None`` means it does not exist."""
    scripts = script_directory(spec)
    heads = tuple(scripts.get_heads())
    applied = current_heads(connection, spec) if connection is not None else ()
    return CurrentState(
        role=spec.role,
        exists=connection is not None,
        revisions=applied,
        heads=heads,
        messages=messages(scripts, applied + heads),
    )
