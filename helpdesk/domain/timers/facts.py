"""What the timer kinds decide over: a ticket's state as plain values, and the policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from helpdesk.domain.vocabulary import Status


@dataclass(frozen=True)
class Facts:
    status: Status
    first_response_due: datetime | None
    first_responded_at: datetime | None
    next_response_due: datetime | None
    resolution_due: datetime | None
    waiting_since: datetime | None  # for the customer (awaiting_customer): the SLA is paused
    resolved_at: datetime | None
    created_at: datetime | None = None
    agent_active_at: datetime | None = None  # an agent's last reply, note or change
    escalated_at: datetime | None = None
    assignee_away: tuple[datetime, datetime] | None = None  # the assignee's absence: from, until
    team_turn_at: datetime | None = None  # back with the team: the customer answered, reopened

    @property
    def paused(self) -> bool:
        return self.waiting_since is not None


@dataclass(frozen=True)
class Policy:
    """The settings the timers follow; a duration of None turns that timer off."""

    warn_ratio: float = 0.8
    auto_resolve_after: timedelta | None = None
    remind_before: timedelta | None = None
    auto_close_after: timedelta | None = None
    escalate_after: timedelta | None = None
    handback_after: timedelta | None = None
