"""The timer kinds, one module each (``sla``: the warnings and breaches of the three SLA clocks;
``auto_resolve``; ``auto_close``): each says which timers a ticket wants now. A timer acts only
if the ticket, looked at when it falls due, still wants it at that time."""

from __future__ import annotations

from datetime import datetime

from helpdesk.domain.timers import auto_close, auto_resolve, sla
from helpdesk.domain.timers.facts import Facts, Policy


def wanted(facts: Facts, policy: Policy, targets: sla.Targets | None) -> dict[str, datetime]:
    found = sla.wanted(facts, targets, policy.warn_ratio) if targets is not None else {}
    return found | auto_resolve.wanted(facts, policy) | auto_close.wanted(facts, policy)
