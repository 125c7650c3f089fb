"""Where a ticket stands against its SLA, as the agent queue colours it: breached, warning, OK,
or awaiting the customer (the clock is paused); tickets no clock runs for (resolved, closed, or
no SLA for their priority) stand nowhere. Decided from the same timers the alerts come from, so
a ticket turns amber and red in the queue when the warning and the breach alert go out."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from helpdesk.domain.timers import sla
from helpdesk.domain.timers.facts import Facts
from helpdesk.domain.vocabulary import ACTIVE_STATUSES, Status


class Standing(enum.StrEnum):
    BREACHED = "breached"
    WARNING = "warning"
    OK = "ok"
    AWAITING = "awaiting"  # the customer's turn
    NONE = "none"


@dataclass(frozen=True)
class Seen:
    standing: Standing
    waiting_since: datetime | None  # whose turn it is, since when: the customer's when awaiting
    due: datetime | None  # the nearest due time of a running clock


def seen(facts: Facts, targets: sla.Targets | None, warn_ratio: float, now: datetime) -> Seen:
    if facts.status not in ACTIVE_STATUSES:
        return Seen(Standing.NONE, None, None)
    turn = facts.team_turn_at or facts.created_at
    if facts.status is Status.AWAITING_CUSTOMER:
        return Seen(Standing.AWAITING, facts.waiting_since, None)
    if targets is None:
        return Seen(Standing.NONE, turn, None)
    timers = sla.wanted(facts, targets, warn_ratio)
    dues = [at for kind, at in timers.items() if kind.endswith(sla.Level.BREACH)]
    due = min(dues, default=None)
    if due is not None and due <= now:
        return Seen(Standing.BREACHED, turn, due)
    warned = any(at <= now for kind, at in timers.items() if kind.endswith(sla.Level.WARNING))
    return Seen(Standing.WARNING if warned else Standing.OK, turn, due)
