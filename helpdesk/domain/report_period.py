"""The report's period and its weeks, in the team's days: a DATE as people write it (a day,
or a time ago), and the ISO weeks tickets are counted in. Days and weeks are those of the
business calendar's time zone when one is set (the team's midnight and Monday), else UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from helpdesk.domain import durations
from helpdesk.domain.calendar import Calendar

DEFAULT_SPAN = timedelta(days=30)


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime  # not included


def moment(
    text: str, now: datetime, calendar: Calendar | None = None, *, end: bool = False
) -> datetime:
    """A DATE as the report takes it: a time ago (``7d``), or a day (``2026-11-30``) from its
    start, or with ``end`` to its end (an ``until`` day counts whole)."""
    ago = durations.parse(text)
    if ago is not None:
        return now - ago
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r}: write a date (2026-11-30) or a time ago (7d)") from None
    midnight = datetime.combine(
        day + timedelta(days=1 if end else 0), time(0), tzinfo=team_zone(calendar)
    )
    return midnight.astimezone(UTC)


def period(
    since: str | None, until: str | None, now: datetime, calendar: Calendar | None = None
) -> Period:
    """From ``since`` (default: 30 days before the end) up to ``until`` (default: now)."""
    end = now if until is None else moment(until, now, calendar, end=True)
    start = end - DEFAULT_SPAN if since is None else moment(since, now, calendar)
    if start >= end:
        raise ValueError(f"the period ends ({end:%Y-%m-%d %H:%M} UTC) before it starts")
    return Period(start, end)


def week(at: datetime, calendar: Calendar | None = None) -> str:
    """The ISO week of ``at``, the team's (``team_zone``): "2026-W48"."""
    return _label(at.astimezone(team_zone(calendar)).date())


def weeks_of(within: Period, calendar: Calendar | None = None) -> list[str]:
    """Every ISO week the period touches, in order."""
    first = within.since.astimezone(team_zone(calendar)).date()
    last = (within.until - timedelta(microseconds=1)).astimezone(team_zone(calendar)).date()
    monday = first - timedelta(days=first.weekday())
    return [_label(monday + timedelta(weeks=n)) for n in range((last - monday).days // 7 + 1)]


def team_zone(calendar: Calendar | None) -> tzinfo:
    """The time zone days and weeks are counted in: the calendar's, else UTC."""
    return calendar.tz if calendar else UTC


def _label(day: date) -> str:
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"
