"""``agentfold keys``: the master keys of the encrypted credential store, and rotation."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from agentfold_core.cli import aio
from agentfold_core.cli.runs import RUNTIME_HELP, formatter, with_runtime
from agentfold_core.credentials.rotation import DEFAULT_BATCH, RotationReport, rotate_secrets
from agentfold_core.data_access.runtime.credential_secrets import count_secrets_by_key
from agentfold_core.db.engine import Database
from agentfold_core.errors import ConfigurationError
from agentfold_core.secrets.keyring import KeyRing, new_entry
from agentfold_core.secrets.master_keys import (
    VARIABLE,
    add_key_to_file,
    key_file_path,
    load_key_ring,
    remove_key_from_file,
)
from agentfold_core.settings import SecretSettings

KEYS_HELP = f"""\
Master keys come from {VARIABLE} (id:base64key entries separated by commas, the
current one first) or, on the embedded SQLite default, from the key file beside the
runtime database (.agentfold/secret-keys, mode 0600).
{RUNTIME_HELP}"""


def _ring(runtime: Database) -> KeyRing:
    setup = load_key_ring(runtime, create=False)
    if setup.ring is None:
        raise ConfigurationError(setup.announcement)
    return setup.ring


def _key_file(runtime: Database) -> Path:
    if SecretSettings().secret_keys is not None:
        raise ConfigurationError(
            f"the master keys come from {VARIABLE}: edit it instead (put the output of "
            "'agentfold keys new' first to make a new current key)"
        )
    path = key_file_path(runtime)
    if path is None:
        raise ConfigurationError(f"no key file beside a PostgreSQL database: set {VARIABLE}")
    return path


def rotation_lines(report: RotationReport) -> list[str]:
    """What ``agentfold keys rotate`` prints for ``report``."""
    lines = [f"re-wrapped {report.rewrapped} secret(s) under {report.key_id!r}"]
    if report.changed_meanwhile:
        lines.append(f"{report.changed_meanwhile} secret(s) were written meanwhile and re-read")
    lines += [f"error: {message}" for message in report.errors]
    if report.failed > len(report.errors):
        lines.append(f"... {report.failed - len(report.errors)} more error(s)")
    if report.remaining:
        others = ", ".join(
            f"{n} under {k!r}" for k, n in sorted(report.by_key.items()) if k != report.key_id
        )
        lines.append(f"not done: {others}")
    else:
        lines.append(f"every secret is under {report.key_id!r}: older keys may leave the ring")
    return lines


def _new(_: argparse.Namespace) -> int:
    print(new_entry(), flush=True)
    return 0


def _add(_: argparse.Namespace) -> int:
    async def add(runtime: Database) -> KeyRing:
        return add_key_to_file(_key_file(runtime))

    ring = aio.run(with_runtime(add))
    print(
        f"added {ring.current_id!r}, now the current key; re-wrap: agentfold keys rotate",
        flush=True,
    )
    return 0


def _remove(args: argparse.Namespace) -> int:
    async def remove(runtime: Database) -> KeyRing:
        path = _key_file(runtime)
        used = (await count_secrets_by_key(runtime)()).get(args.key_id, 0)
        if used:
            raise ConfigurationError(
                f"{used} secret(s) are still wrapped under {args.key_id!r}: "
                "run 'agentfold keys rotate' first"
            )
        return remove_key_from_file(path, args.key_id)

    ring = aio.run(with_runtime(remove))
    print(f"removed {args.key_id!r}; the ring holds {', '.join(ring.ids)}", flush=True)
    return 0


def _status(_: argparse.Namespace) -> int:
    async def status(runtime: Database) -> tuple[KeyRing, dict[str, int]]:
        return _ring(runtime), await count_secrets_by_key(runtime)()

    ring, counts = aio.run(with_runtime(status))
    for key_id in ring.ids:
        mark = " (current)" if key_id == ring.current_id else ""
        print(f"{key_id}{mark}: {counts.get(key_id, 0)} secret(s)", flush=True)
    for key_id in sorted(set(counts) - set(ring.ids)):
        print(f"{key_id} (NOT IN THE RING): {counts[key_id]} secret(s)", flush=True)
    return 0


def _rotate(args: argparse.Namespace) -> int:
    async def rotate(runtime: Database) -> RotationReport:
        return await rotate_secrets(
            runtime, _ring(runtime), batch_size=args.batch_size, tenant_id=args.tenant
        )

    report = aio.run(with_runtime(rotate))
    for line in rotation_lines(report):
        print(line, flush=True)
    return 1 if report.failed or report.remaining else 0


def _batch_size(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_parser(groups: Any) -> None:
    """Add ``keys`` (``new``, ``add``, ``remove``, ``status``, ``rotate``) to the parser."""
    parser = groups.add_parser(
        "keys",
        help="master keys of the encrypted credential store, and their rotation",
        description=f"Master keys of the encrypted credential store.\n\n{KEYS_HELP}",
        formatter_class=formatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "new",
        help="print a new random master key entry (id:base64key)",
        description=f"Print a new master key entry, to put first in {VARIABLE}.",
        formatter_class=formatter,
    ).set_defaults(handler=_new)
    commands.add_parser(
        "add",
        help="put a new current key first in the key file",
        description="Put a new random key first in the key file of the embedded default:\n"
        "new secrets are sealed under it; the old keys stay to read the others\n"
        "until 'agentfold keys rotate' re-wraps them. Restart the service after.",
        formatter_class=formatter,
    ).set_defaults(handler=_add)
    remove = commands.add_parser(
        "remove",
        help="drop a key from the key file once no secret uses it",
        description="Drop a key (never the current one) from the key file of the embedded\n"
        "default; refused while a stored secret is still wrapped under it.",
        formatter_class=formatter,
    )
    remove.add_argument("key_id", help="the key id to drop")
    remove.set_defaults(handler=_remove)
    commands.add_parser(
        "status",
        help="the keys of the ring and how many secrets each wraps",
        description="The keys of the ring, the current one marked, and how many stored\n"
        "secrets each wraps (also keys missing from the ring). Changes nothing.",
        formatter_class=formatter,
    ).set_defaults(handler=_status)
    rotate = commands.add_parser(
        "rotate",
        help="re-wrap every secret's data key under the current master key",
        description="Re-wrap the data key of every stored secret under the current master\n"
        "key, in batches of short transactions. Safe while the service runs (a secret\n"
        "written meanwhile keeps its new value) and resumable: run it again after an\n"
        "interruption. Exits 1 while secrets remain under other keys.",
        formatter_class=formatter,
    )
    rotate.add_argument(
        "--batch-size",
        type=_batch_size,
        default=DEFAULT_BATCH,
        help=f"secrets per batch (default: {DEFAULT_BATCH})",
    )
    rotate.add_argument("--tenant", default=None, help="only this tenant's secrets")
    rotate.set_defaults(handler=_rotate)
