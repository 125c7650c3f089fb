"""A report written for people (the CLI, a mail body) and as JSON-able data.

Durations are written as everywhere else (``durations.shown``), rounded to the minute for
people; the JSON gives the seconds as well.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from helpdesk.domain import calendar as business
from helpdesk.domain import durations
from helpdesk.domain.report import Compliance, Figures, Grouping, Report, Spread
from helpdesk.domain.report_period import team_zone
from helpdesk.domain.timers.sla import Clock
from helpdesk.domain.vocabulary import ACTIVE_STATUSES


def human(duration: timedelta | None) -> str:
    """``2h15m``; a minute or more rounded to the minute; ``-`` for none."""
    if duration is None:
        return "-"
    if duration >= timedelta(minutes=1):
        duration = timedelta(minutes=round(duration.total_seconds() / 60))
    return durations.shown(duration)


def percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.0%}"


def text(report: Report) -> str:
    figures, zone = report.overall, team_zone(report.calendar)
    since, until = report.period.since.astimezone(zone), report.period.until.astimezone(zone)
    lines = [
        f"Support report: {since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} {zone}, "
        f"{_count(figures.tickets, 'ticket')} created",
        _time_basis(report),
        "",
        *_summary(figures),
    ]
    if report.by is not None:
        lines += ["", *_table(report.by, report.groups)]
    return "\n".join(lines) + "\n"


def _time_basis(report: Report) -> str:
    hours = report.calendar
    if hours is None:
        return "Times in wall-clock time."
    return f"Times in business hours: {hours.zone}, {business.shown_hours(hours.week)}."


def _summary(figures: Figures) -> list[str]:
    rated = figures.satisfaction
    ratings = ", ".join(f"{r}: {n}" for r, n in rated.distribution.items())
    average = "-" if rated.average is None else f"{rated.average:.1f}"
    backlog = ", ".join(f"{s.value.replace('_', ' ')} {n}" for s, n in figures.backlog.items())
    rows = [
        ("First response", _spread(figures.first_response, "answered")),
        ("Resolution", _spread(figures.resolution, "resolved")),
        ("SLA met", ", ".join(_compliance(c, figures.sla[c]) for c in Clock)),
        ("Backlog", backlog),
        ("Volume per week", ", ".join(f"{w} {n}" for w, n in figures.volume.items()) or "-"),
        ("Satisfaction", f"{average} average of {_count(rated.count, 'rating')} ({ratings})"),
    ]
    return [f"{label:<17}{value}" for label, value in rows]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _spread(spread: Spread, done: str) -> str:
    return (
        f"median {human(spread.median)}, 90th percentile {human(spread.p90)} "
        f"({_count(spread.count, 'ticket')} {done})"
    )


def _compliance(clock: Clock, found: Compliance) -> str:
    return f"{clock.label} {percent(found.share)} ({found.met} of {found.total})"


_COLUMNS = (
    ("tickets", 8),
    ("active", 7),
    ("response p50/p90", 18),
    ("resolution p50/p90", 20),
    ("SLA met 1st/next/res", 22),
    ("rating", 0),
)


def _table(by: Grouping, groups: dict[str, Figures]) -> list[str]:
    """One row per group: the figures people compare (the JSON has them all)."""
    width = max(len(name) for name in [f"By {by.value}", *groups]) + 2
    lines = [_row(f"By {by.value}", [name for name, _ in _COLUMNS], width)]
    lines += [_row(key, _cells(figures), width) for key, figures in groups.items()]
    return lines


def _cells(figures: Figures) -> list[str]:
    rating, answered, resolved = figures.satisfaction, figures.first_response, figures.resolution
    return [
        str(figures.tickets),
        str(sum(figures.backlog[status] for status in ACTIVE_STATUSES)),
        f"{human(answered.median)}/{human(answered.p90)}",
        f"{human(resolved.median)}/{human(resolved.p90)}",
        "/".join(percent(figures.sla[clock].share) for clock in Clock),
        "-" if rating.average is None else f"{rating.average:.1f} ({rating.count})",
    ]


def _row(name: str, cells: list[str], width: int) -> str:
    columns = "".join(f"{cell:<{w}}" for cell, (_, w) in zip(cells, _COLUMNS, strict=True))
    return f"{name:<{width}}{columns}".rstrip()


def as_json(report: Report) -> dict[str, Any]:
    hours = report.calendar
    return {
        "since": report.period.since.isoformat(),
        "until": report.period.until.isoformat(),
        "business_hours": None
        if hours is None
        else {"zone": hours.zone, "hours": business.shown_hours(hours.week)},
        **_figures_json(report.overall),
        "by": None if report.by is None else report.by.value,
        "groups": {key: _figures_json(figures) for key, figures in report.groups.items()},
    }


def _figures_json(figures: Figures) -> dict[str, Any]:
    rated = figures.satisfaction
    return {
        "tickets": figures.tickets,
        "first_response": _spread_json(figures.first_response),
        "resolution": _spread_json(figures.resolution),
        "sla": {
            clock.value: {"met": found.met, "missed": found.missed, "share": found.share}
            for clock, found in figures.sla.items()
        },
        "backlog": {status.value: n for status, n in figures.backlog.items()},
        "volume": figures.volume,
        "satisfaction": {
            "count": rated.count,
            "average": rated.average,
            "distribution": {str(r): n for r, n in rated.distribution.items()},
        },
    }


def _spread_json(spread: Spread) -> dict[str, Any]:
    def duration(value: timedelta | None) -> dict[str, Any] | None:
        return None if value is None else {"seconds": value.total_seconds(), "shown": human(value)}

    return {"count": spread.count, "median": duration(spread.median), "p90": duration(spread.p90)}
