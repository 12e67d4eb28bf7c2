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

TASKS: Entity[TaskRow] = Entity(Task, label="task", plural="tasks", path="tasks")
get_task = TASKS.get
list_tasks = TASKS.list
create_task = TASKS.create
update_task = TASKS.update
upsert_task = TASKS.upsert
delete_task = TASKS.delete

TASK_RELATIONS: Entity[TaskRelationRow] = Entity(
    TaskRelation,
    label="task_relation",
    plural="task_relations",
    path="task-relations",
)
get_task_relation = TASK_RELATIONS.get
list_task_relations = TASK_RELATIONS.list
create_task_relation = TASK_RELATIONS.create
update_task_relation = TASK_RELATIONS.update
upsert_task_relation = TASK_RELATIONS.upsert
delete_task_relation = TASK_RELATIONS.delete

LEDGER_ARTIFACTS: Entity[LedgerArtifactRow] = Entity(
    LedgerArtifact,
    label="ledger_artifact",
    plural="ledger_artifacts",
    path="ledger-artifacts",
)
get_ledger_artifact = LEDGER_ARTIFACTS.get
list_ledger_artifacts = LEDGER_ARTIFACTS.list
create_ledger_artifact = LEDGER_ARTIFACTS.create
update_ledger_artifact = LEDGER_ARTIFACTS.update
upsert_ledger_artifact = LEDGER_ARTIFACTS.upsert
delete_ledger_artifact = LEDGER_ARTIFACTS.delete
