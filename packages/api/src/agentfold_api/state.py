"""What the running service holds: both databases, the operator credential, the
credential stores and the count of failed authentication attempts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Litestar

from agentfold_api.operator_token import OperatorToken
from agentfold_api.settings import ApiSettings
from agentfold_core.credentials.references import CredentialStores
from agentfold_core.data_access.runtime.key_failures import FailedAttempts
from agentfold_core.db.engine import Database


@dataclass(frozen=True)
class ServiceState:
    """The service's databases, operator token, settings, credential stores and failed
    authentication attempts."""

    manage: Database
    runtime: Database
    operator: OperatorToken | None
    settings: ApiSettings
    credentials: CredentialStores
    failures: FailedAttempts


def app_state(app: Litestar | Any) -> ServiceState:
    """The service state of a running app."""
    state: ServiceState = app.state.service
    return state
