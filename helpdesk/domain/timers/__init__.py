"""The timer kinds, one module each (``sla``: the warnings and breaches of the three SLA clocks;
``escalation``; ``absence``: the hand-back of an absent agent's tickets; ``auto_resolve``;
``auto_close``): each says which timers a ticket wants now. A timer acts only if the ticket,
looked at when it falls due, still wants it at that time. (Digests are the outbox's: they gather
mail per agent, not per ticket; see ``helpdesk.app.digests``.)"""

from __future__ import annotations

from datetime import datetime

from helpdesk.domain.calendar import Calendar
from helpdesk.domain.timers import absence, auto_close, auto_resolve, escalation, sla
from helpdesk.domain.timers.facts import Facts, Policy


def wanted(
    facts: Facts, policy: Policy, targets: sla.Targets | None, calendar: Calendar | None = None
) -> dict[str, datetime]:
    found = sla.wanted(facts, targets, policy.warn_ratio) if targets is not None else {}
    return (
        found
        | escalation.wanted(facts, policy, calendar)
        | absence.wanted(facts, policy)
        | auto_resolve.wanted(facts, policy)
        | auto_close.wanted(facts, policy)
    )
