"""Escalation: a ticket waiting for the team with no agent activity (a reply, a note, a change)
for ``escalate_after`` (business time, with a calendar) is flagged and the supervisors told; once
for each stretch of silence, so the next activity starts the count again. The count starts at
the later of the last activity and the ticket's coming back to the team (the customer answered
after waiting, or it reopened): time it spent waiting for the customer was nobody's silence."""

from __future__ import annotations

from datetime import datetime

from helpdesk.domain import calendar as business
from helpdesk.domain.calendar import Calendar
from helpdesk.domain.timers.facts import Facts, Policy
from helpdesk.domain.vocabulary import Status

ESCALATE = "escalation"
KINDS = (ESCALATE,)
WAITING_FOR_THE_TEAM = (Status.OPEN, Status.IN_PROGRESS)


def wanted(facts: Facts, policy: Policy, calendar: Calendar | None) -> dict[str, datetime]:
    after = policy.escalate_after
    since = max(
        (t for t in (facts.created_at, facts.agent_active_at, facts.team_turn_at) if t),
        default=None,
    )
    if facts.status not in WAITING_FOR_THE_TEAM or after is None or since is None:
        return {}
    if facts.escalated_at is not None and facts.escalated_at >= since:
        return {}  # told already; an agent's activity since would have moved ``since`` on
    return {ESCALATE: business.add(calendar, since, after)}
