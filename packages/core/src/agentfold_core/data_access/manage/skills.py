"""Skills and their files."""

from __future__ import annotations

from agentfold_core.data_access.crud import Entity
from agentfold_core.db.manage.schema import (
    Skill,
    SkillFile,
    SkillFileRow,
    SkillRow,
)

SKILLS: Entity[SkillRow] = Entity(Skill, label="skill")
get_skill, list_skills, create_skill, update_skill, upsert_skill, delete_skill = SKILLS.functions()

SKILL_FILES: Entity[SkillFileRow] = Entity(SkillFile, label="skill_file")
(
    get_skill_file,
    list_skill_files,
    create_skill_file,
    update_skill_file,
    upsert_skill_file,
    delete_skill_file,
) = SKILL_FILES.functions()
