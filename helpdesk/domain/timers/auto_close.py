"""Auto-close: a resolved ticket with no reply for ``auto_close_after`` is closed (a later reply
opens a new, linked ticket, as DESIGN.md says for closed tickets)."""

from __future__ import annotations

from datetime import datetime

from helpdesk.domain.timers.facts import Facts, Policy
from helpdesk.domain.vocabulary import Status

CLOSE = "auto_close"
KINDS = (CLOSE,)


def wanted(facts: Facts, policy: Policy) -> dict[str, datetime]:
    after = policy.auto_close_after
    if facts.status is not Status.RESOLVED or after is None or facts.resolved_at is None:
        return {}
    return {CLOSE: facts.resolved_at + after}
