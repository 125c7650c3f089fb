"""The edge's log guard: a flood of failed accepts is one line per period, with a count."""

from __future__ import annotations

import logging
import time

import pytest

from gateway.guard import OncePer


def test_a_repeated_message_is_logged_once_per_period(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("helpdesk.test.guard")
    log.addFilter(OncePer(0.2))
    with caplog.at_level(logging.ERROR, logger="helpdesk.test.guard"):
        for _ in range(1000):
            log.error("socket.accept() out of system resource")
        time.sleep(0.25)
        log.error("socket.accept() out of system resource")
    assert [r.getMessage() for r in caplog.records] == [
        "socket.accept() out of system resource",
        "socket.accept() out of system resource (and 999 more like it)",
    ]
