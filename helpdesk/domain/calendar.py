"""Business hours: a time zone, weekly opening hours and holidays, and time counted in them.

``add`` moves an instant forward (or back) by an amount of business time and ``between`` counts
the business time between two instants; with no calendar both are plain wall-clock arithmetic.
Opening hours are wall times in the calendar's zone, each turned into an instant on its own day,
so a daylight-saving change moves no due time: 09:00 stays 09:00 local on either side of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HORIZON = 3700  # days looked at before giving up: a calendar open less than once in ten years
_SPAN = re.compile(
    r"^(?P<first>[A-Za-z]{3})(?:-(?P<last>[A-Za-z]{3}))?\s+"
    r"(?P<open>\d{1,2}:\d{2})-(?P<close>\d{1,2}:\d{2})$"
)

Week = tuple[tuple[tuple[int, int], ...], ...]  # per weekday (Monday first): (open, close) minutes


@dataclass(frozen=True)
class Calendar:
    zone: str
    week: Week
    holidays: frozenset[date] = frozenset()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def hours_of(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """The day's opening hours as UTC instants (none on a holiday)."""
        if day in self.holidays:
            return
        midnight = datetime.combine(day, time(0), tzinfo=self.tz)
        for start, end in self.week[day.weekday()]:
            # wall-clock arithmetic on an aware datetime: 09:00 local whatever the offset
            yield (
                (midnight + timedelta(minutes=start)).astimezone(UTC),
                _wall(day, end, self.tz).astimezone(UTC),
            )


def _wall(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    if minutes == 1440:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=tz)


def zone(name: str) -> str:
    """A time zone name checked against the zone database."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not a time zone (like Europe/Berlin)") from exc
    return name


def parse_hours(text: str) -> Week:
    """``"Mon-Fri 09:00-17:00, Sat 10:00-14:00"`` (a day may have several spans; 24:00 ends one
    at midnight)."""
    week: list[list[tuple[int, int]]] = [[] for _ in DAYS]
    for part in filter(None, (p.strip() for p in re.split(r"[,;]", text))):
        found = _SPAN.match(part)
        if found is None:
            raise ValueError(f"{part!r}: write a span like Mon-Fri 09:00-17:00")
        first, last = _day(found["first"]), _day(found["last"] or found["first"])
        start, end = _minutes(found["open"]), _minutes(found["close"])
        if start >= end:
            raise ValueError(f"{part!r}: the hours must open before they close")
        days = range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
        for day in days:
            week[day].append((start, end))
    if not any(week):
        raise ValueError("no opening hours given")
    for spans in week:
        spans.sort()
        if any(a[1] > b[0] for a, b in pairwise(spans)):
            raise ValueError("opening hours overlap on one day")
    return tuple(tuple(spans) for spans in week)


def _day(name: str) -> int:
    try:
        return [d.lower() for d in DAYS].index(name.lower())
    except ValueError:
        raise ValueError(f"{name!r} is not a day (Mon, Tue, … Sun)") from None


def _minutes(text: str) -> int:
    hours, minutes = map(int, text.split(":"))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"{text!r} is not a time of day")
    return hours * 60 + minutes


def shown_hours(week: Week) -> str:
    """The weekly hours written as ``parse_hours`` reads them, consecutive equal days joined."""
    parts, day = [], 0
    while day < 7:
        last = day
        while last + 1 < 7 and week[last + 1] == week[day]:
            last += 1
        if week[day]:
            days = DAYS[day] if day == last else f"{DAYS[day]}-{DAYS[last]}"
            parts += [f"{days} {_clock(a)}-{_clock(b)}" for a, b in week[day]]
        day = last + 1
    return ", ".join(parts)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _spans(
    calendar: Calendar, start: datetime, backwards: bool, days: int = HORIZON
) -> Iterator[tuple[datetime, datetime]]:
    """Opening hours from ``start`` on (or back), in order, as UTC instants, for ``days``."""
    day = start.astimezone(calendar.tz).date() + timedelta(days=1 if backwards else -1)
    step = timedelta(days=-1 if backwards else 1)
    for _ in range(days):
        spans = list(calendar.hours_of(day))
        yield from reversed(spans) if backwards else spans
        day += step
    raise ValueError("the calendar has no opening hours in the next ten years")


def add(calendar: Calendar | None, start: datetime, span: timedelta) -> datetime:
    """The instant ``span`` of business time after ``start`` (before it, for a negative span)."""
    if calendar is None:
        return start + span
    backwards, left = span < timedelta(0), abs(span)
    for opens, closes in _spans(calendar, start, backwards):
        if backwards:
            closes = min(closes, start)
            if closes <= opens:
                continue
            if closes - opens >= left:
                return closes - left
        else:
            opens = max(opens, start)
            if closes <= opens:
                continue
            if closes - opens >= left:
                return opens + left
        left -= closes - opens
    raise AssertionError("unreachable: _spans raises first")


def between(calendar: Calendar | None, start: datetime, end: datetime) -> timedelta:
    """The business time from ``start`` to ``end`` (zero if ``end`` is not after it)."""
    if end <= start:
        return timedelta(0)
    if calendar is None:
        return end - start
    total, days = timedelta(0), (end - start).days + 3
    for opens, closes in _spans(calendar, start, backwards=False, days=max(days, HORIZON)):
        if opens >= end:
            return total
        total += max(min(closes, end) - max(opens, start), timedelta(0))
    raise AssertionError("unreachable: _spans raises first")
