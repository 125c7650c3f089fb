"""Absence: an active ticket whose assignee is away goes back to the team after
``handback_after`` of the absence (wall time: a grace for the agent to hand over), unless the
agent is back by then."""

from __future__ import annotations

from datetime import datetime

from helpdesk.domain.timers.facts import Facts, Policy
from helpdesk.domain.vocabulary import ACTIVE_STATUSES

HANDBACK = "absence_handback"
KINDS = (HANDBACK,)


def wanted(facts: Facts, policy: Policy) -> dict[str, datetime]:
    grace, away = policy.handback_after, facts.assignee_away
    if facts.status not in ACTIVE_STATUSES or grace is None or away is None:
        return {}
    since, until = away
    due = since + grace
    return {HANDBACK: due} if due < until else {}
