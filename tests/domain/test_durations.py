"""Durations read and shown the same way everywhere."""

from __future__ import annotations

from datetime import timedelta

import pytest

from helpdesk.domain import durations


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("15min", timedelta(minutes=15)),
        ("8h", timedelta(hours=8)),
        ("3D", timedelta(days=3)),
        ("2w", timedelta(weeks=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
    ],
)
def test_parse_and_show(text: str, value: timedelta) -> None:
    assert durations.parse(text) == value
    assert durations.parse(durations.shown(value)) == value


@pytest.mark.parametrize("text", ["", "h", "8", "8 hours", "-1h", "1y", "8h junk"])
def test_not_a_duration(text: str) -> None:
    assert durations.parse(text) is None
