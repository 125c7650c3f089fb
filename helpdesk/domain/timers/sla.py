"""SLA clocks, decided over plain values: which alerts a ticket wants, and when.

Three clocks (DESIGN.md, the timers issue): the first response (from creation to the first
public agent reply), the next response (from a customer's reply, once answered before, to the
next public agent reply) and the resolution (from creation, not counting time waiting for the
customer). Each clock wants a warning at ``warn_ratio`` of its target and a breach alert at its
due time, as long as it runs. A timer fires only if the ticket, looked at when it falls due,
still wants exactly that timer: an answer, a resolution or a new due date in the meantime means
it has nothing to say.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from helpdesk.domain import calendar as business
from helpdesk.domain.calendar import Calendar
from helpdesk.domain.timers.facts import Facts
from helpdesk.domain.vocabulary import ACTIVE_STATUSES


class Clock(enum.StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class Level(enum.StrEnum):
    WARNING = "warning"
    BREACH = "breach"


@dataclass(frozen=True)
class Targets:
    """A priority's targets, counted in business time when a calendar is given."""

    first_response: timedelta
    next_response: timedelta
    resolution: timedelta
    calendar: Calendar | None = None

    def of(self, clock: Clock) -> timedelta:
        return {
            Clock.FIRST_RESPONSE: self.first_response,
            Clock.NEXT_RESPONSE: self.next_response,
            Clock.RESOLUTION: self.resolution,
        }[clock]


def kind(clock: Clock, level: Level) -> str:
    """A timer's kind: the clock and the level, ``first_response_breach``."""
    return f"{clock.value}_{level.value}"


def parse_kind(text: str) -> tuple[Clock, Level] | None:
    clock, _, level = text.rpartition("_")
    try:
        return Clock(clock), Level(level)
    except ValueError:
        return None


def running(facts: Facts) -> dict[Clock, datetime]:
    """The clocks that run now, with their due times."""
    if facts.status not in ACTIVE_STATUSES:
        return {}
    found = {}
    if facts.first_responded_at is None and facts.first_response_due is not None:
        found[Clock.FIRST_RESPONSE] = facts.first_response_due
    if facts.next_response_due is not None:
        found[Clock.NEXT_RESPONSE] = facts.next_response_due
    if facts.resolution_due is not None and not facts.paused:
        found[Clock.RESOLUTION] = facts.resolution_due
    return found


def wanted(facts: Facts, targets: Targets, warn_ratio: float) -> dict[str, datetime]:
    """Every timer the ticket wants, by kind: a warning and a breach for each running clock."""
    timers = {}
    for clock, due in running(facts).items():
        early = targets.of(clock) * (1 - warn_ratio)
        if 0 < warn_ratio < 1:
            timers[kind(clock, Level.WARNING)] = business.add(targets.calendar, due, -early)
        timers[kind(clock, Level.BREACH)] = due
    return timers


def resumed(
    due: datetime | None, paused_at: datetime, now: datetime, calendar: Calendar | None = None
) -> datetime | None:
    """A resolution due time after a pause from ``paused_at`` to ``now``: as much (business)
    time left after the pause as there was before it. One breached before the pause stays
    as it was: its breach is told already, and a new due time would tell it again."""
    if due is None or due <= paused_at:
        return due
    return business.add(calendar, now, business.between(calendar, paused_at, due))


def waited(since: datetime, now: datetime) -> str:
    """How long someone has been waiting, for people: ``3h 12m``, ``2d 4h``, ``45m``."""
    minutes = max(int((now - since).total_seconds() // 60), 0)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"
