"""The agentfold-core wheel carries both environments: ``agentfold db`` works from it alone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(
    *command: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=env,
    )


def _uv() -> str:
    # `uv run` names its own binary in $UV; it need not be on PATH.
    found = os.environ.get("UV") or shutil.which("uv")
    assert found, "uv is needed to build and install the wheel"
    return found


def test_wheel_in_a_fresh_virtual_environment_upgrades_sqlite(tmp_path: Path) -> None:
    uv = _uv()
    dist = tmp_path / "dist"
    built = _run(uv, "build", "--wheel", "--out-dir", dist, REPO / "packages" / "core")
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("agentfold_core-*.whl")

    venv = tmp_path / "venv"
    created = _run(uv, "venv", "--quiet", "--python", sys.executable, venv)
    assert created.returncode == 0, created.stderr
    python = venv / "bin" / "python"
    # Reuse uv's cache when it has everything; PyPI otherwise.
    installed = _run(uv, "pip", "install", "--quiet", "--offline", "--python", python, wheel)
    if installed.returncode != 0:
        installed = _run(uv, "pip", "install", "--quiet", "--python", python, wheel)
    assert installed.returncode == 0, installed.stderr

    work = tmp_path / "work"
    work.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AGENTFOLD_", "VIRTUAL_ENV", "PYTHON"))
    }
    env["AGENTFOLD_MANAGE_DATABASE_URL"] = f"sqlite+aiosqlite:///{work / 'manage.db'}"
    env["AGENTFOLD_RUNTIME_DATABASE_URL"] = f"sqlite+aiosqlite:///{work / 'runtime.db'}"
    agentfold = venv / "bin" / "agentfold"

    upgrade = _run(agentfold, "db", "upgrade", "--db", "all", cwd=work, env=env)
    assert upgrade.returncode == 0, upgrade.stderr
    assert "manage: upgraded <base> -> 0006" in upgrade.stdout
    assert "runtime: upgraded <base> -> 0006" in upgrade.stdout

    current = _run(agentfold, "db", "current", cwd=work, env=env)
    assert current.returncode == 0, current.stderr
    assert current.stdout.splitlines() == [
        "manage: 0006 (head) Commit path: capture pausable per branch, no commit parent "
        "index, fewer per-row checks",
        "runtime: 0006 (head) Row-level security: every tenant-scoped table confined to the "
        "transaction's tenant",
    ]

    # The scripts in use are the wheel's, not this checkout's.
    history = _run(agentfold, "db", "history", "--verbose", cwd=work, env=env)
    assert "site-packages/agentfold_core/_migrations/manage/versions/" in history.stdout
    assert str(REPO) not in history.stdout
    refused = _run(agentfold, "db", "revision", "-m", "x", cwd=work, env=env)
    assert refused.returncode == 1
    assert "new revisions go into the source tree" in refused.stderr
