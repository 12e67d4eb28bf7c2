"""``agentfold serve`` hands its options to granian (ASGI, uvloop, the app factory)."""

from __future__ import annotations

from typing import Any

import granian
import pytest

from agentfold_core.cli import main


class _Recorder:
    """Stands in for ``granian.Granian``: records how it was built and served."""

    built: dict[str, Any] = {}
    served = False

    def __init__(self, target: str, **options: Any) -> None:
        _Recorder.built = {"target": target, **options}

    def serve(self) -> None:
        _Recorder.served = True


def test_serve_runs_granian_with_the_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(granian, "Granian", _Recorder)
    argv = ["serve", "--host", "0.0.0.0", "--port", "8123", "--workers", "2", "--reload"]  # noqa: S104
    assert main(argv) == 0
    assert _Recorder.served
    built = _Recorder.built
    assert built["target"] == "agentfold_api.app:create_app"
    assert built["factory"] is True
    assert (built["interface"].value, built["loop"].value) == ("asgi", "uvloop")
    assert (built["address"], built["port"], built["workers"]) == ("0.0.0.0", 8123, 2)  # noqa: S104
    assert built["reload"] is True


def test_serve_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(granian, "Granian", _Recorder)
    assert main(["serve"]) == 0
    built = _Recorder.built
    assert (built["address"], built["port"], built["workers"], built["reload"]) == (
        "127.0.0.1",
        8000,
        1,
        False,
    )
