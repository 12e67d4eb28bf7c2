"""The run-wide scan of log lines for the secrets the tests made."""

from __future__ import annotations

import logging

import pytest

from tests.support.secret_scan import Leak, SecretScan


def test_a_registered_secret_in_any_log_line_is_found_and_masked() -> None:
    scan = SecretScan()
    scan.register("sk-live-0123456789", "af_abc.0123456789")
    logger = logging.getLogger("tests.scan.demo")
    logger.addHandler(scan.handler)
    logger.propagate = False
    try:
        logger.warning("calling with %s", "sk-live-0123456789")
        logger.warning("nothing to see")
        try:
            raise ValueError("bad key af_abc.0123456789")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(scan.handler)
        logger.propagate = True
    leaks = scan.leaks()
    assert leaks[0] == Leak("tests.scan.demo", "calling with <secret>")
    assert leaks[1].line.startswith("failed\nTraceback")
    assert "af_abc.0123456789" not in leaks[1].line
    assert len(leaks) == 2


def test_no_secret_registered_means_no_leak_and_short_values_are_refused() -> None:
    scan = SecretScan()
    assert scan.leaks() == []
    with pytest.raises(ValueError, match="too short"):
        scan.register("abc")
