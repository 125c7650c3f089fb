"""Support metrics, decided over plain facts: one ``TicketFacts`` per ticket created in the
period (``report_period``), and the business calendar (or None). ``compute`` gives the figures
for all of them and, optionally, per agent, group, priority or category; ``report_text``
writes them for people and as JSON.

Times are counted with ``calendar.between``: business time when a calendar is set, wall time
when not. A first-response time runs from creation to the first public agent reply; a
resolution time from creation to the resolution (or the closing, for a ticket closed without
one), waiting for the customer included. Percentiles interpolate linearly between the closest
ranks (numpy's default, ``statistics.quantiles(..., method="inclusive")``): the median of 1h
and 2h is 1h30m, the 90th percentile of 1h, 2h, … 10h is 9h06m.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from helpdesk.domain import calendar as business
from helpdesk.domain.calendar import Calendar
from helpdesk.domain.report_period import Period, week, weeks_of
from helpdesk.domain.timers.sla import Clock
from helpdesk.domain.vocabulary import Priority, Status

UNASSIGNED = "unassigned"  # the agent of a ticket no agent has (or only a group)
NO_GROUP = "no group"


class Grouping(enum.StrEnum):
    AGENT = "agent"
    GROUP = "group"
    PRIORITY = "priority"
    CATEGORY = "category"


@dataclass(frozen=True)
class TicketFacts:
    """A ticket as the report sees it. ``groups``: the group it is assigned to or, assigned to
    an agent, that agent's groups (a team's tickets include those its members took)."""

    number: str
    created_at: datetime
    priority: Priority
    category: str
    status: Status
    agent: str = ""  # the assignee's email; empty: no agent
    groups: tuple[str, ...] = ()
    first_responded_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    first_response_due: datetime | None = None
    next_response_due: datetime | None = None  # the next-response clock running now, if any
    resolution_due: datetime | None = None
    breached: frozenset[Clock] = frozenset()  # the clocks its sla_breached events name
    replied_after_answer: bool = False  # a customer's public reply came after the first response
    satisfaction: int | None = None

    @property
    def finished_at(self) -> datetime | None:
        """When the work ended: resolved, or closed; a reopened ticket is not finished."""
        if self.status is Status.RESOLVED:
            return self.resolved_at
        if self.status is Status.CLOSED:
            return self.resolved_at or self.closed_at
        return None


def met(ticket: TicketFacts, clock: Clock, now: datetime) -> bool | None:
    """Whether the ticket met the SLA clock: True met, False missed, None not counted.

    A clock is met when it stopped by its due time and no ``sla_breached`` event names it. The
    first-response clock stops at the first public agent reply or at the resolution; the
    resolution clock at the resolution; the next-response clock at each public agent reply
    after a customer's reply (or at the resolution). A clock still running is missed once its
    due time has passed, and not counted before. Not counted either: a ticket without that
    clock (no SLA target, or no customer reply after the first answer), and the resolution
    clock while the ticket waits for the customer (it is paused; its due time moves on).
    A ticket counts once per clock: its next-response clocks are met if none was breached.
    """
    if clock in ticket.breached:
        return False
    finished = ticket.finished_at
    if clock is Clock.FIRST_RESPONSE:
        due, stopped = ticket.first_response_due, ticket.first_responded_at or finished
    elif clock is Clock.RESOLUTION:
        if finished is None and ticket.status is Status.AWAITING_CUSTOMER:
            return None
        due, stopped = ticket.resolution_due, finished
    elif ticket.next_response_due is None:  # every next-response clock it had has stopped
        had = ticket.replied_after_answer and ticket.first_response_due is not None
        return True if had else None
    else:
        due, stopped = ticket.next_response_due, finished
    if due is None:
        return None
    if stopped is not None:
        return stopped <= due
    return False if now > due else None


@dataclass(frozen=True)
class Spread:
    """How long something took over ``count`` tickets: the median and the 90th percentile."""

    count: int
    median: timedelta | None
    p90: timedelta | None


@dataclass(frozen=True)
class Compliance:
    met: int
    missed: int

    @property
    def total(self) -> int:
        return self.met + self.missed

    @property
    def share(self) -> float | None:
        return self.met / self.total if self.total else None


@dataclass(frozen=True)
class Satisfaction:
    distribution: dict[int, int]  # every rating 1..5: how many tickets were given it

    @property
    def count(self) -> int:
        return sum(self.distribution.values())

    @property
    def average(self) -> float | None:
        total = sum(rating * n for rating, n in self.distribution.items())
        return total / self.count if self.count else None


@dataclass(frozen=True)
class Figures:
    tickets: int
    first_response: Spread
    resolution: Spread
    sla: dict[Clock, Compliance]
    backlog: dict[Status, int]  # the tickets by their status now
    volume: dict[str, int]  # tickets created per ISO week ("2026-W48"), every week of the period
    satisfaction: Satisfaction


@dataclass(frozen=True)
class Report:
    period: Period
    calendar: Calendar | None  # the business hours times are counted in; None: wall time
    overall: Figures
    by: Grouping | None = None
    groups: dict[str, Figures] = field(default_factory=dict)


@dataclass(frozen=True)
class _Measured:
    """One ticket's own figures, counted once whichever groups it falls in."""

    facts: TicketFacts
    week: str
    first_response: timedelta | None
    resolution: timedelta | None
    sla: dict[Clock, bool | None]


def compute(
    facts: Iterable[TicketFacts],
    calendar: Calendar | None,
    within: Period,
    now: datetime,
    by: Grouping | None = None,
) -> Report:
    measured = [_measure(t, calendar, now) for t in facts]
    weeks = weeks_of(within, calendar)
    groups: dict[str, list[_Measured]] = {}
    if by is not None:
        for one in measured:
            for key in keys(one.facts, by):
                groups.setdefault(key, []).append(one)
    ordered = {key: _figures(groups[key], weeks) for key in _order(groups, by)}
    return Report(within, calendar, _figures(measured, weeks), by, ordered)


def keys(ticket: TicketFacts, by: Grouping) -> tuple[str, ...]:
    """The groups a ticket counts in (several, for an agent in several groups)."""
    if by is Grouping.AGENT:
        return (ticket.agent or UNASSIGNED,)
    if by is Grouping.GROUP:
        return ticket.groups or (NO_GROUP,)
    return (ticket.priority.value,) if by is Grouping.PRIORITY else (ticket.category,)


def _order(groups: dict[str, list[_Measured]], by: Grouping | None) -> list[str]:
    """Priorities from urgent down; names alphabetically, the unassigned last."""
    if by is Grouping.PRIORITY:
        rank = [p.value for p in reversed(Priority)]
        return sorted(groups, key=rank.index)
    return sorted(groups, key=lambda key: (key in (UNASSIGNED, NO_GROUP), key))


def _measure(ticket: TicketFacts, calendar: Calendar | None, now: datetime) -> _Measured:
    def since_created(end: datetime | None) -> timedelta | None:
        return None if end is None else business.between(calendar, ticket.created_at, end)

    return _Measured(
        ticket,
        week(ticket.created_at, calendar),
        since_created(ticket.first_responded_at),
        since_created(ticket.finished_at),
        {clock: met(ticket, clock, now) for clock in Clock},
    )


def _figures(measured: Sequence[_Measured], weeks: list[str]) -> Figures:
    volume = dict.fromkeys(weeks, 0)
    backlog = dict.fromkeys(Status, 0)
    ratings = dict.fromkeys(range(1, 6), 0)
    for one in measured:
        volume[one.week] = volume.get(one.week, 0) + 1
        backlog[one.facts.status] += 1
        rating = one.facts.satisfaction
        if rating is not None and rating in ratings:
            ratings[rating] += 1
    outcomes = {clock: [m.sla[clock] for m in measured] for clock in Clock}
    return Figures(
        len(measured),
        spread([m.first_response for m in measured if m.first_response is not None]),
        spread([m.resolution for m in measured if m.resolution is not None]),
        {c: Compliance(found.count(True), found.count(False)) for c, found in outcomes.items()},
        backlog,
        volume,
        Satisfaction(ratings),
    )


def spread(times: Sequence[timedelta]) -> Spread:
    seconds = [t.total_seconds() for t in times]
    median, p90 = percentile(seconds, 0.5), percentile(seconds, 0.9)
    return Spread(
        len(times),
        None if median is None else timedelta(seconds=median),
        None if p90 is None else timedelta(seconds=p90),
    )


def percentile(values: Sequence[float], share: float) -> float | None:
    """The value at ``share`` (0..1) of the way through the sorted values, interpolated
    linearly between the two closest ranks (rank ``share * (n - 1)``); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = share * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
