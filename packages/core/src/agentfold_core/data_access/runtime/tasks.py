"""Tasks, their relations and the artifacts they produce."""

from __future__ import annotations

from agentfold_core.data_access.crud import Entity
from agentfold_core.db.runtime.schema import (
    LedgerArtifact,
    LedgerArtifactRow,
    Task,
    TaskRelation,
    TaskRelationRow,
    TaskRow,
)

TASKS: Entity[TaskRow] = Entity(Task, label="task")
get_task, list_tasks, create_task, update_task, upsert_task, delete_task = TASKS.functions()

TASK_RELATIONS: Entity[TaskRelationRow] = Entity(TaskRelation, label="task_relation")
(
    get_task_relation,
    list_task_relations,
    create_task_relation,
    update_task_relation,
    upsert_task_relation,
    delete_task_relation,
) = TASK_RELATIONS.functions()

LEDGER_ARTIFACTS: Entity[LedgerArtifactRow] = Entity(LedgerArtifact, label="ledger_artifact")
(
    get_ledger_artifact,
    list_ledger_artifacts,
    create_ledger_artifact,
    update_ledger_artifact,
    upsert_ledger_artifact,
    delete_ledger_artifact,
) = LEDGER_ARTIFACTS.functions()
