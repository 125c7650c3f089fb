"""The time timers are judged by: the wall clock, or, with ``HELPDESK_TEST_CLOCK``, the wall
clock moved forward by the offset in ``var/clock-offset``, so that a test can make a day pass
without sleeping, in its own process and in the worker processes it starts."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from helpdesk.app.settings import Settings

OFFSET_FILE = "clock-offset"


def now(settings: Settings) -> datetime:
    current = datetime.now(UTC)
    if not settings.test_clock:
        return current
    return current + timedelta(seconds=_offset(settings.var_dir / OFFSET_FILE))


def advance(settings: Settings, by: timedelta) -> None:
    """Move the test clock forward (written whole, so another process never reads half)."""
    path = settings.var_dir / OFFSET_FILE
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{OFFSET_FILE}.{os.getpid()}")
    temporary.write_text(str(_offset(path) + by.total_seconds()))
    temporary.replace(path)


def _offset(path: Path) -> float:
    try:
        return float(path.read_text())
    except (FileNotFoundError, ValueError):
        return 0.0
