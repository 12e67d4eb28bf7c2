"""Where master keys come from: the variable, or the 0600 key file of the embedded default."""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from agentfold_core.db.engine import Database, create_database
from agentfold_core.errors import ConfigurationError
from agentfold_core.secrets.master_keys import (
    KEY_FILE,
    add_key_to_file,
    load_key_ring,
    remove_key_from_file,
)
from agentfold_core.settings import SecretSettings

NO_VARIABLE = SecretSettings(secret_keys=None)


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[Database]:
    """An embedded runtime database (never opened: only its file's place matters)."""
    database = create_database(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'runtime.db'}", "runtime")
    yield database
    await database.dispose()


async def test_the_key_file_is_created_0600_announced_and_reused(
    embedded: Database, tmp_path: Path
) -> None:
    path = tmp_path / "data" / KEY_FILE
    first = load_key_ring(embedded, NO_VARIABLE)
    assert first.created
    assert first.ring is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert f"generated {path} (mode 0600" in first.announcement
    assert "back it up" in first.announcement
    content = path.read_text()
    assert content.split(":")[1].strip() not in first.announcement
    again = load_key_ring(embedded, NO_VARIABLE)
    assert not again.created
    assert again.ring == first.ring
    assert again.announcement == f"secret keys: {path} (current {first.ring.current_id!r}, 1 key)"
    assert path.read_text() == content
    # No stray files beside it.
    assert sorted(p.name for p in path.parent.iterdir()) == [KEY_FILE]


async def test_a_key_file_readable_by_others_is_refused(embedded: Database, tmp_path: Path) -> None:
    load_key_ring(embedded, NO_VARIABLE)
    path = tmp_path / "data" / KEY_FILE
    os.chmod(path, 0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        load_key_ring(embedded, NO_VARIABLE)


async def test_the_variable_wins_and_no_file_is_made(embedded: Database, tmp_path: Path) -> None:
    entry = f"prod-1:{base64.b64encode(bytes(range(32))).decode()}"
    setup = load_key_ring(embedded, SecretSettings(secret_keys=SecretStr(entry)))
    assert setup.ring is not None
    assert setup.ring.current_id == "prod-1"
    assert setup.announcement == "secret keys: from AGENTFOLD_SECRET_KEYS (current 'prod-1', 1 key)"
    assert not (tmp_path / "data" / KEY_FILE).exists()


async def test_without_variable_or_file_there_is_no_ring() -> None:
    server = create_database("postgresql+psycopg://u@127.0.0.1:1/db", "runtime")
    try:
        setup = load_key_ring(server, NO_VARIABLE)
    finally:
        await server.dispose()
    assert setup.ring is None
    assert "set AGENTFOLD_SECRET_KEYS" in setup.announcement


async def test_keys_are_added_first_and_removed_from_the_file(
    embedded: Database, tmp_path: Path
) -> None:
    first = load_key_ring(embedded, NO_VARIABLE).ring
    assert first is not None
    path = tmp_path / "data" / KEY_FILE
    ring = add_key_to_file(path)
    assert ring.ids[1:] == first.ids
    assert ring.current_id != first.current_id
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key_ring(embedded, NO_VARIABLE).ring == ring
    with pytest.raises(ConfigurationError, match="is the current key"):
        remove_key_from_file(path, ring.current_id)
    kept = remove_key_from_file(path, first.current_id)
    assert kept.ids == (ring.current_id,)
    assert sorted(p.name for p in path.parent.iterdir()) == [KEY_FILE]
