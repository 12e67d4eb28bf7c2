"""Where the master keys come from: ``AGENTFOLD_SECRET_KEYS``, or for the embedded
SQLite default a key file generated beside the runtime database (mode 0600).

Without either (PostgreSQL and no variable) there is no key ring, and the encrypted
credential store refuses to seal or open anything: never a plaintext fallback.
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from agentfold_core.db.engine import Database
from agentfold_core.errors import ConfigurationError
from agentfold_core.secrets.keyring import KeyRing, format_key_ring, new_entry, parse_key_ring
from agentfold_core.settings import SecretSettings

KEY_FILE = "secret-keys"
VARIABLE = "AGENTFOLD_SECRET_KEYS"
# Group or other may not read the key file, nor write it.
_LOOSE_PERMISSIONS = stat.S_IRWXG | stat.S_IRWXO


@dataclass(frozen=True, slots=True)
class KeyRingSetup:
    """The ring (or none) and the start-up line that says where it comes from."""

    ring: KeyRing | None
    announcement: str
    # The key file was made by this call (first start).
    created: bool = False


def key_file_path(runtime: Database) -> Path | None:
    """Where an embedded runtime database keeps its generated master keys: beside its file."""
    return None if runtime.file is None else runtime.file.parent / KEY_FILE


def load_key_ring(
    runtime: Database, settings: SecretSettings | None = None, *, create: bool = True
) -> KeyRingSetup:
    """The master keys for ``runtime``: the variable, else the key file (made on first
    use when ``create``), else none."""
    settings = settings or SecretSettings()
    if settings.secret_keys is not None and settings.secret_keys.get_secret_value().strip():
        ring = parse_key_ring(settings.secret_keys.get_secret_value(), VARIABLE)
        return KeyRingSetup(ring, f"secret keys: from {VARIABLE} ({_describe(ring)})")
    path = key_file_path(runtime)
    if path is None:
        return KeyRingSetup(
            None, f"encrypted credential store disabled: set {VARIABLE} to store secrets"
        )
    if not path.exists() and not create:
        return KeyRingSetup(None, f"no master keys: {path} does not exist and {VARIABLE} is unset")
    ring, created = _read_or_create(path)
    if created:
        return KeyRingSetup(
            ring,
            f"secret keys: generated {path} (mode 0600, {_describe(ring)}); back it up: "
            "the secrets stored here cannot be read without it",
            created=True,
        )
    return KeyRingSetup(ring, f"secret keys: {path} ({_describe(ring)})")


def add_key_to_file(path: Path) -> KeyRing:
    """Put a new current key at the head of the key file (the old keys stay, to decrypt
    until ``agentfold keys rotate`` has re-wrapped everything); a missing file is made
    with the new key alone."""
    ring, created = _read_or_create(path)
    if created:
        return ring
    fresh = parse_key_ring(new_entry(), "a new key")
    merged = KeyRing({**fresh.keys, **ring.keys})
    _replace(path, format_key_ring(merged))
    return merged


def remove_key_from_file(path: Path, key_id: str) -> KeyRing:
    """Drop ``key_id`` from the key file (never the current key)."""
    ring = _read(path)
    ring.key(key_id)  # MasterKeyMissing names it when absent
    if key_id == ring.current_id:
        raise ConfigurationError(f"{key_id!r} is the current key: add a new one first")
    kept = KeyRing({i: k for i, k in ring.keys.items() if i != key_id})
    _replace(path, format_key_ring(kept))
    return kept


def _describe(ring: KeyRing) -> str:
    count = len(ring.ids)
    return f"current {ring.current_id!r}, {count} key{'s' if count != 1 else ''}"


def _read_or_create(path: Path) -> tuple[KeyRing, bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Written in full under a private name, then linked into place: link fails when
        # the file exists, so two workers starting together create it once, and neither
        # ever reads it half written.
        spare = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        _write_private(spare, new_entry() + "\n")
        try:
            os.link(spare, path)
        except FileExistsError:
            pass
        else:
            return _read(path), True
        finally:
            spare.unlink(missing_ok=True)
    return _read(path), False


def _read(path: Path) -> KeyRing:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigurationError(f"no key file at {path}") from None
    if mode & _LOOSE_PERMISSIONS and os.name == "posix":
        raise ConfigurationError(
            f"{path} is accessible to other users; restrict it: chmod 600 {path}"
        )
    return parse_key_ring(path.read_text(encoding="utf-8"), str(path))


def _replace(path: Path, text: str) -> None:
    # Written beside it and renamed over it: a crash leaves the old file or the new one.
    spare = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    _write_private(spare, text)
    os.replace(spare, path)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
