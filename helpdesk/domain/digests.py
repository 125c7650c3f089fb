"""Digests: an agent who asks for one gets their news about low and medium priority tickets
gathered into one mail per period; high and urgent news, and every direct mail (an SLA alert,
an escalation, a command's answer), goes at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpdesk.domain.notices import Template
from helpdesk.domain.vocabulary import Priority

GATHERED = {
    Template.AGENT_NEW_TICKET: "New ticket",
    Template.AGENT_CUSTOMER_REPLY: "Customer reply",
    Template.AGENT_INTERNAL_NOTE: "Internal note",
    Template.AGENT_ASSIGNED: "Assigned",
}
CALM = (Priority.LOW, Priority.MEDIUM)
EXCERPT = 600  # characters of each message a digest shows
EPOCH = datetime(2000, 1, 3, tzinfo=UTC)  # a Monday: periods of a day or a week start on one


def gathered(template: Template, priority: Priority, period_minutes: int | None) -> bool:
    return bool(period_minutes) and template in GATHERED and priority in CALM


def due(now: datetime, period_minutes: int) -> datetime:
    """The end of the period ``now`` falls in: periods follow each other from a fixed start, so
    every mail of one period goes in one digest whenever it was written."""
    period = timedelta(minutes=period_minutes)
    return EPOCH + period * ((now - EPOCH) // period + 1)


def excerpt(body: str) -> str:
    text = " ".join(body.split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1].rstrip() + "…"
