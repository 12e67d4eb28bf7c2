"""Projects, key rings and stores for the credential tests."""

from __future__ import annotations

import os

from agentfold_core.credentials.encrypted import EncryptedStore
from agentfold_core.data_access.project_lifecycle import create_project
from agentfold_core.scopes import ProjectScope, TenantScope
from agentfold_core.secrets.keyring import KeyRing
from tests.support.databases import TestDatabases
from tests.support.secret_scan import register_secret

# Looked for in every log line, response and error of the credential tests (and in
# every log line of the run).
SECRET_VALUE = "sk-test-7Q2v9XkLm3Zp"  # noqa: S105 - a test secret
register_secret(SECRET_VALUE, SECRET_VALUE + "-2")


def ring(*ids: str) -> KeyRing:
    """A ring of fresh random keys, the first current."""
    return KeyRing({key_id: os.urandom(32) for key_id in ids})


def only(source: KeyRing, *ids: str) -> KeyRing:
    """The keys ``ids`` of ``source`` (in that order, the first current)."""
    return KeyRing({key_id: source.key(key_id) for key_id in ids})


async def project(databases: TestDatabases, tenant: str, project_id: str) -> ProjectScope:
    """A new project of ``tenant`` in both databases."""
    await create_project(databases.manage, databases.runtime)(
        scopes=TenantScope(tenant), data={"id": project_id, "name": project_id}
    )
    return ProjectScope(tenant, project_id)


def encrypted(databases: TestDatabases, keys: KeyRing | None) -> EncryptedStore:
    """The encrypted store over the test runtime database with ``keys``."""
    return EncryptedStore(databases.runtime, keys)
