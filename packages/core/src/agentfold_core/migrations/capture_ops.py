"""Autogenerate keeps the capture triggers of version control in the revisions it writes.

Every versioned manage table carries capture triggers (``versioning.capture``); a
revision must:

- create them after ``op.create_table`` of a versioned table, and drop them (and,
  on PostgreSQL, their functions) before ``op.drop_table``;
- create them again after a batch block on a versioned table: on SQLite a batch
  operation that copies the table drops the original's triggers. On PostgreSQL (and
  for a SQLite block that copied nothing) reinstalling them changes nothing.

``agentfold db check`` fails on a versioned table without them, so a revision written
by hand that forgets them fails CI too (migrations/README.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from alembic.autogenerate import renderers
from alembic.autogenerate.api import AutogenContext
from alembic.autogenerate.render import render_op
from alembic.operations import ops
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, Table

from agentfold_core.migrations.trigger_ops import (
    CreateTableWithTriggersOp,
    DropTableWithTriggersOp,
    GuardedBatchOp,
)
from agentfold_core.migrations.trigger_ops import (
    process_revision_directives as set_null_directives,
)
from agentfold_core.versioning.capture import CaptureSpec
from agentfold_core.versioning.rows import versioned

_HELPERS = "agentfold_core.migrations.ops"


class CaptureAfterOp(ops.MigrateOperation):
    """A table creation or a batch block, then the table's capture triggers (re)created."""

    def __init__(self, inner: Any, spec: CaptureSpec) -> None:
        self.inner = inner
        self.spec = spec

    def reverse(self) -> ops.MigrateOperation:
        """A creation reverts to dropping the triggers, then the table; a batch block
        to the reverted block, then the triggers again."""
        if isinstance(self.inner, ops.CreateTableOp | CreateTableWithTriggersOp):
            return CaptureDropBeforeOp(self.inner.reverse(), self.spec)
        return CaptureAfterOp(self.inner.reverse(), self.spec)

    def to_diff_tuple(self) -> Any:
        """The diffs of the wrapped operation."""
        return self.inner.to_diff_tuple()


class CaptureDropBeforeOp(ops.MigrateOperation):
    """A versioned table's capture triggers dropped before the table itself."""

    def __init__(self, inner: Any, spec: CaptureSpec) -> None:
        self.inner = inner
        self.spec = spec

    def reverse(self) -> CaptureAfterOp:
        """Create the table, then its triggers."""
        return CaptureAfterOp(self.inner.reverse(), self.spec)

    def to_diff_tuple(self) -> Any:
        """The diff of the wrapped drop."""
        return self.inner.to_diff_tuple()


def _lines(autogen_context: AutogenContext, inner: Any) -> list[str]:
    rendered = render_op(autogen_context, inner)
    return list(rendered) if isinstance(rendered, list | tuple) else [str(rendered)]


@renderers.dispatch_for(CaptureAfterOp)
def _render_after(autogen_context: AutogenContext, op: CaptureAfterOp) -> list[str]:
    autogen_context.imports.add(f"from {_HELPERS} import create_capture_triggers")
    spec = op.spec
    project = (
        "" if spec.project_column == "project_id" else f", project_column={spec.project_column!r}"
    )
    create = f"create_capture_triggers({spec.table!r}, {spec.key_columns!r}{project})"
    # A batch block's lines end with a blank one, which closes its `with` for the
    # printer: the triggers come after it.
    return [*_lines(autogen_context, op.inner), create]


@renderers.dispatch_for(CaptureDropBeforeOp)
def _render_drop(autogen_context: AutogenContext, op: CaptureDropBeforeOp) -> list[str]:
    autogen_context.imports.add(f"from {_HELPERS} import drop_capture_triggers")
    return [f"drop_capture_triggers({op.spec.table!r})", *_lines(autogen_context, op.inner)]


def _spec(table: Table | None) -> CaptureSpec | None:
    found = versioned(table) if table is not None else None
    return CaptureSpec.of(found) if found is not None else None


def _created(operation: Any) -> str | None:
    if isinstance(operation, ops.CreateTableOp):
        return operation.table_name
    if isinstance(operation, CreateTableWithTriggersOp):
        return operation.create.table_name
    return None


def _dropped(operation: Any) -> ops.DropTableOp | None:
    if isinstance(operation, ops.DropTableOp):
        return operation
    if isinstance(operation, DropTableWithTriggersOp):
        return operation.drop
    return None


def _batch_table(operation: Any) -> str | None:
    if isinstance(operation, ops.ModifyTableOps):
        return operation.table_name
    if isinstance(operation, GuardedBatchOp):
        return operation.inner.table_name
    return None


def with_capture(operations: Iterable[Any], metadata: MetaData) -> list[Any]:
    """``operations`` with the capture triggers of versioned tables created after their
    table, dropped before it, and reinstalled after every batch block on one."""
    operations = list(operations)
    created = {name for op in operations if (name := _created(op)) is not None}
    result: list[Any] = []
    for operation in operations:
        spec: CaptureSpec | None = None
        if (name := _created(operation)) is not None:
            spec = _spec(metadata.tables.get(name))
        elif (drop := _dropped(operation)) is not None:
            # The table is gone from the models: what it was comes from the database.
            spec = _spec(drop.to_table())
            if spec is not None:
                result.append(CaptureDropBeforeOp(operation, spec))
                continue
        elif (name := _batch_table(operation)) is not None and name not in created:
            # (A block on a table created in the same revision only adds its indexes,
            # which copies nothing.)
            spec = _spec(metadata.tables.get(name))
        result.append(operation if spec is None else CaptureAfterOp(operation, spec))
    return result


def process_revision_directives(
    context: MigrationContext, revision: Any, directives: list[Any]
) -> None:
    """Skip empty autogenerated revisions; keep SQLite's SET NULL triggers and every
    versioned table's capture triggers right."""
    set_null_directives(context, revision, directives)
    script = directives[0] if directives else None
    if not isinstance(script, ops.MigrationScript) or script.upgrade_ops is None:
        return
    upgrade = script.upgrade_ops
    upgrade.ops = with_capture(upgrade.ops, context.opts["target_metadata"])
    downgrade = script.downgrade_ops
    if downgrade is not None:
        downgrade.ops = list(reversed([operation.reverse() for operation in upgrade.ops]))
