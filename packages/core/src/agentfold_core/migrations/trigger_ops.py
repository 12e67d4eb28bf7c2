"""Autogenerate keeps SQLite's SET NULL triggers right in the revisions it writes.

The trigger emulating ``SET NULL (col)`` lives on the referenced (parent) table and
names the child table in its body, so on SQLite:

- a new child table needs its triggers created after ``op.create_table``, and
  dropped before ``op.drop_table``;
- a batch operation copies a table and drops the original: on a parent that drops
  the triggers, and on a child the rename of the copy fails while a trigger names
  the dropped original. So batch blocks on either side are wrapped in
  ``drop_sqlite_triggers`` / ``create_sqlite_set_null_trigger``.

Every helper is a no-op on PostgreSQL, where the reference is native.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from alembic.autogenerate import render_op_text, renderers
from alembic.autogenerate.api import AutogenContext
from alembic.autogenerate.render import render_op
from alembic.operations import ops
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData

from agentfold_core.db.foreign_keys import SET_NULL_COLUMN, sqlite_set_null_triggers

_HELPERS = "agentfold_core.migrations.ops"


@dataclass(frozen=True, slots=True)
class SetNullTrigger:
    """One emulated ``SET NULL (column)`` reference from ``child`` to ``parent``."""

    name: str
    child: str
    column: str
    parent: str
    scope: tuple[str, ...]


def set_null_triggers(metadata: MetaData) -> list[SetNullTrigger]:
    """Every SET NULL trigger the models of ``metadata`` need on SQLite."""
    found: list[SetNullTrigger] = []
    for table in metadata.sorted_tables:
        references = [fk for fk in table.foreign_key_constraints if fk.info.get(SET_NULL_COLUMN)]
        # Same iteration of the same constraint set, so the same order as the references.
        names = [name for name, _sql in sqlite_set_null_triggers(table)]
        for fk, name in zip(references, names, strict=True):
            column = str(fk.info[SET_NULL_COLUMN])
            scope = tuple(key for key in fk.column_keys if key != column)
            found.append(SetNullTrigger(name, table.name, column, fk.referred_table.name, scope))
    return found


class CreateTableWithTriggersOp(ops.MigrateOperation):
    """``op.create_table`` followed by the SQLite SET NULL triggers of the new table."""

    def __init__(self, create: ops.CreateTableOp, triggers: tuple[str, ...]) -> None:
        self.create = create
        self.triggers = triggers

    def reverse(self) -> DropTableWithTriggersOp:
        """Drop the triggers, then the table."""
        return DropTableWithTriggersOp(self.create.reverse(), self.triggers)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        """The diff of the wrapped ``create_table``."""
        return self.create.to_diff_tuple()


class DropTableWithTriggersOp(ops.MigrateOperation):
    """The SQLite SET NULL triggers of a table dropped before ``op.drop_table``."""

    def __init__(self, drop: ops.DropTableOp, triggers: tuple[str, ...]) -> None:
        self.drop = drop
        self.triggers = triggers

    def reverse(self) -> CreateTableWithTriggersOp:
        """Create the table, then its triggers."""
        return CreateTableWithTriggersOp(self.drop.reverse(), self.triggers)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        """The diff of the wrapped ``drop_table``."""
        return self.drop.to_diff_tuple()


class GuardedBatchOp(ops.MigrateOperation):
    """A batch block on a table with SET NULL triggers: drop them, alter, recreate them."""

    def __init__(self, inner: ops.ModifyTableOps, triggers: tuple[SetNullTrigger, ...]) -> None:
        self.inner = inner
        self.triggers = triggers

    def reverse(self) -> GuardedBatchOp:
        """The reverted block, guarded the same way."""
        return GuardedBatchOp(self.inner.reverse(), self.triggers)

    def to_diff_tuple(self) -> Any:
        """The diffs of the wrapped block."""
        return self.inner.to_diff_tuple()


@renderers.dispatch_for(CreateTableWithTriggersOp)
def _render_create(autogen_context: AutogenContext, op: CreateTableWithTriggersOp) -> list[str]:
    autogen_context.imports.add(f"from {_HELPERS} import create_sqlite_set_null_triggers")
    variable = f"{op.create.table_name}_table"
    return [
        f"{variable} = {render_op_text(autogen_context, op.create)}",
        f"create_sqlite_set_null_triggers({variable})",
    ]


def _drop_line(autogen_context: AutogenContext, names: Iterable[str]) -> str:
    autogen_context.imports.add(f"from {_HELPERS} import drop_sqlite_triggers")
    return f"drop_sqlite_triggers({', '.join(repr(name) for name in names)})"


@renderers.dispatch_for(DropTableWithTriggersOp)
def _render_drop(autogen_context: AutogenContext, op: DropTableWithTriggersOp) -> list[str]:
    return [_drop_line(autogen_context, op.triggers), render_op_text(autogen_context, op.drop)]


@renderers.dispatch_for(GuardedBatchOp)
def _render_guarded(autogen_context: AutogenContext, op: GuardedBatchOp) -> list[str]:
    autogen_context.imports.add(f"from {_HELPERS} import create_sqlite_set_null_trigger")
    recreate = [
        f"create_sqlite_set_null_trigger({t.child!r}, {t.column!r}, "
        f"parent={t.parent!r}, scope={t.scope!r})"
        for t in op.triggers
    ]
    drop = _drop_line(autogen_context, (t.name for t in op.triggers))
    # The inner block's lines end with a blank one, which closes its `with` for the
    # printer; the triggers are recreated after it.
    return [drop, *render_op(autogen_context, op.inner), *recreate]


def with_triggers(operations: Iterable[ops.MigrateOperation], metadata: MetaData) -> list[Any]:
    """``operations`` with SET NULL trigger handling around creates and batch blocks."""
    triggers = set_null_triggers(metadata)
    operations = list(operations)
    created = {op.table_name for op in operations if isinstance(op, ops.CreateTableOp)}
    result: list[Any] = []
    for operation in operations:
        if isinstance(operation, ops.CreateTableOp):
            names = tuple(t.name for t in triggers if t.child == operation.table_name)
            if names:
                result.append(CreateTableWithTriggersOp(operation, names))
                continue
        if isinstance(operation, ops.ModifyTableOps) and operation.table_name not in created:
            related = tuple(t for t in triggers if operation.table_name in (t.child, t.parent))
            if related:
                result.append(GuardedBatchOp(operation, related))
                continue
        result.append(operation)
    return result


def process_revision_directives(
    context: MigrationContext, _revision: Any, directives: list[Any]
) -> None:
    """Skip empty autogenerated revisions; keep SQLite's SET NULL triggers right."""
    # env.py runs during `revision` only when autogenerating, so this is autogenerate.
    script = directives[0]
    if not isinstance(script, ops.MigrationScript):
        return
    upgrade = script.upgrade_ops
    if upgrade is None or upgrade.is_empty():
        directives[:] = []
        return
    upgrade.ops = with_triggers(upgrade.ops, context.opts["target_metadata"])
    downgrade = script.downgrade_ops
    if downgrade is not None:
        downgrade.ops = list(reversed([operation.reverse() for operation in upgrade.ops]))
