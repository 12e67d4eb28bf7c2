"""The README's curl session, run as written against a real ``agentfold serve``."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
STARTUP_SECONDS = 120


def session_script() -> str:
    """The shell block of the README's "A first session over HTTP" section."""
    section = README.read_text().split("## A first session over HTTP", 1)[1]
    found = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert found is not None, "the section has no shell block"
    return found.group(1)


def secrets_script() -> str:
    """The first shell block of the README's "Secrets and master keys" section, which
    continues the session (same variables)."""
    section = README.read_text().split("## Secrets and master keys", 1)[1]
    found = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert found is not None, "the section has no shell block"
    return found.group(1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_ready(url: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"agentfold serve exited: {server.communicate()}")
        try:
            with urllib.request.urlopen(f"{url}/health/ready", timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError("agentfold serve did not become ready")


def test_the_readme_session_runs_against_a_real_server(tmp_path: Path) -> None:
    port = _free_port()
    api = f"http://127.0.0.1:{port}"
    # A new user's setting: nothing configured, the embedded default in this directory.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTFOLD_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "agentfold_core.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_ready(api, server)
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", session_script() + secrets_script()],  # noqa: S607
            cwd=tmp_path,
            env=env | {"API": api},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        server.terminate()
        log, _ = server.communicate(timeout=60)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n--- server ---\n{log}"
    assert '"fast_forward":true' in result.stdout
    assert "Where is my order?" in result.stdout
    assert "Keep answers brief" in result.stdout
    assert str(tmp_path / ".agentfold" / "admin-token") in log
    # The secret was set, checked and deleted, and never shown.
    assert '"set":true' in result.stdout
    assert '"readable":true' in result.stdout
    assert "sk-..." not in result.stdout + log
    assert f"secret keys: generated {tmp_path / '.agentfold' / 'secret-keys'}" in log
