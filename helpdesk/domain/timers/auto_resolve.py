"""Auto-resolve: a ticket waiting for the customer, with no reply for ``auto_resolve_after``, is
resolved, and the customer told how to reopen it; optionally reminded ``remind_before`` that."""

from __future__ import annotations

from datetime import datetime

from helpdesk.domain.timers.facts import Facts, Policy
from helpdesk.domain.vocabulary import Status

RESOLVE = "auto_resolve"
REMIND = "auto_resolve_reminder"
KINDS = (RESOLVE, REMIND)


def wanted(facts: Facts, policy: Policy) -> dict[str, datetime]:
    after, since = policy.auto_resolve_after, facts.waiting_since
    if facts.status is not Status.AWAITING_CUSTOMER or after is None or since is None:
        return {}
    timers = {RESOLVE: since + after}
    if policy.remind_before is not None and policy.remind_before < after:
        timers[REMIND] = since + after - policy.remind_before
    return timers
