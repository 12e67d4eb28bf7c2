"""Skills and their files."""

from __future__ import annotations

from agentfold_core.data_access.crud import Entity
from agentfold_core.db.manage.schema import (
    Skill,
    SkillFile,
    SkillFileRow,
    SkillRow,
)

SKILLS: Entity[SkillRow] = Entity(Skill, label="skill", plural="skills", path="skills")
get_skill = SKILLS.get
list_skills = SKILLS.list
create_skill = SKILLS.create
update_skill = SKILLS.update
upsert_skill = SKILLS.upsert
delete_skill = SKILLS.delete

SKILL_FILES: Entity[SkillFileRow] = Entity(
    SkillFile,
    label="skill_file",
    plural="skill_files",
    path="skill-files",
)
get_skill_file = SKILL_FILES.get
list_skill_files = SKILL_FILES.list
create_skill_file = SKILL_FILES.create
update_skill_file = SKILL_FILES.update
upsert_skill_file = SKILL_FILES.upsert
delete_skill_file = SKILL_FILES.delete
