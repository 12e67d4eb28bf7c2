"""Rules shared by entities with secret columns (hashes, envelopes): never returned,
never filtered on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentfold_core.data_access.crud import Entity
from agentfold_core.errors import ValidationFailed, field_error


def refuse_secret_filters(entity: Entity[Any], where: Mapping[str, Any] | None) -> None:
    """``ValidationFailed`` when ``where`` filters on a secret column of ``entity``:
    filtering by a secret would tell its value apart, one guess at a time."""
    hidden = sorted(set(where or ()) & entity.traits.secrets)
    if hidden:
        raise ValidationFailed(
            f"cannot filter {entity.label} by {hidden[0]!r}",
            errors=[field_error(n, "not a filterable column", "not_filterable") for n in hidden],
        )
