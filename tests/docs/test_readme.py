"""The README's library snippet runs as written, as a script, where a new user runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.support.databases import Backend, create_test_databases, drop_test_databases

README = Path(__file__).resolve().parents[2] / "README.md"


def library_snippet() -> str:
    """The first Python block of the README's "Using the core library" section."""
    section = README.read_text().split("## Using the core library", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found is not None, "the section has no Python block"
    return found.group(1)


def _python(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def test_the_library_snippet_runs_as_a_script(backend: Backend, tmp_path: Path) -> None:
    script = tmp_path / "quickstart.py"
    script.write_text(library_snippet())
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTFOLD_")}
    if backend == "sqlite":
        # The default: the README's `agentfold db upgrade`, in the current directory.
        upgraded = _python(tmp_path, env, "-m", "agentfold_core.cli", "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        result = _python(tmp_path, env, str(script))
        assert (tmp_path / ".agentfold" / "manage.db").is_file()
        assert (tmp_path / ".agentfold" / "runtime.db").is_file()
    else:
        dbs = await create_test_databases(backend, tmp_path / "pg")
        try:
            env["AGENTFOLD_MANAGE_DATABASE_URL"] = dbs.manage_url
            env["AGENTFOLD_RUNTIME_DATABASE_URL"] = dbs.runtime_url
            result = _python(tmp_path, env, str(script))
        finally:
            await drop_test_databases(dbs)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "Triage\n"
