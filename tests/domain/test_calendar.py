"""Business hours: time counted only while the team is open, in its own time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from helpdesk.domain import calendar
from helpdesk.domain.calendar import Calendar

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = Calendar("Europe/Berlin", calendar.parse_hours("Mon-Fri 09:00-17:00"))


def berlin(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BERLIN).astimezone(UTC)  # type: ignore[misc]


def test_friday_afternoon_plus_an_hour_is_monday_morning() -> None:
    assert calendar.add(OFFICE, berlin(2026, 12, 4, 16, 30), timedelta(hours=1)) == berlin(
        2026, 12, 7, 9, 30
    )


def test_a_holiday_on_the_monday_moves_it_to_tuesday() -> None:
    closed = Calendar(OFFICE.zone, OFFICE.week, frozenset({date(2026, 12, 7)}))
    assert calendar.add(closed, berlin(2026, 12, 4, 16, 30), timedelta(hours=1)) == berlin(
        2026, 12, 8, 9, 30
    )


def test_a_daylight_saving_change_moves_no_due_time() -> None:
    # Europe/Berlin moves to summer time on Sunday 2026-03-29: Friday 16:30 CET (15:30 UTC)
    # plus two business hours is Monday 10:30 CEST (08:30 UTC), not 09:30 UTC
    due = calendar.add(OFFICE, berlin(2026, 3, 27, 16, 30), timedelta(hours=2))
    assert due == datetime(2026, 3, 30, 8, 30, tzinfo=UTC)
    assert due.astimezone(BERLIN).hour == 10
    autumn = calendar.add(OFFICE, berlin(2026, 10, 23, 16, 0), timedelta(hours=3))
    assert autumn.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 10, 26, 11, 0)


def test_outside_hours_the_clock_starts_at_the_next_opening() -> None:
    assert calendar.add(OFFICE, berlin(2026, 12, 5, 23, 0), timedelta(minutes=30)) == berlin(
        2026, 12, 7, 9, 30
    )


def test_counting_back_for_a_warning() -> None:
    due = berlin(2026, 12, 7, 9, 30)
    assert calendar.add(OFFICE, due, -timedelta(hours=1)) == berlin(2026, 12, 4, 16, 30)


def test_between_counts_only_open_time() -> None:
    start, end = berlin(2026, 12, 4, 16, 30), berlin(2026, 12, 7, 9, 30)
    assert calendar.between(OFFICE, start, end) == timedelta(hours=1)
    assert calendar.between(None, start, end) == end - start
    assert calendar.between(OFFICE, end, start) == timedelta(0)


def test_add_and_between_agree() -> None:
    start = berlin(2026, 3, 26, 11, 17)
    for hours in (0.5, 7, 8, 9, 40, 200):
        span = timedelta(hours=hours)
        assert calendar.between(OFFICE, start, calendar.add(OFFICE, start, span)) == span


def test_without_a_calendar_it_is_wall_time() -> None:
    start = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    assert calendar.add(None, start, timedelta(days=1)) == start + timedelta(days=1)


def test_hours_are_read_and_written_back() -> None:
    week = calendar.parse_hours("Mon-Fri 09:00-12:00, Mon-Fri 13:00-17:00; sat 10:00-24:00")
    assert week[0] == ((540, 720), (780, 1020))
    assert week[5] == ((600, 1440),)
    assert week[6] == ()
    assert calendar.shown_hours(week) == (
        "Mon-Fri 09:00-12:00, Mon-Fri 13:00-17:00, Sat 10:00-24:00"
    )


def test_a_span_round_the_weekend() -> None:
    week = calendar.parse_hours("Fri-Mon 10:00-11:00")
    assert [bool(day) for day in week] == [True, False, False, False, True, True, True]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Mon-Fri",
        "Mon-Fri 17:00-09:00",
        "Funday 09:00-17:00",
        "Mon 09:00-25:00",
        "Mon 09:00-12:00, Mon 11:00-13:00",
    ],
)
def test_bad_hours_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        calendar.parse_hours(text)


def test_an_unknown_zone_is_refused() -> None:
    assert calendar.zone("Europe/Berlin") == "Europe/Berlin"
    with pytest.raises(ValueError):
        calendar.zone("Mars/Olympus")
