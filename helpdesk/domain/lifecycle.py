"""The ticket state machine: which status follows which, and what a customer's reply does.

Pure functions over plain values; the pipeline and the agent commands both call them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from helpdesk.domain.vocabulary import ACTIVE_STATUSES, Status

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.OPEN: frozenset(
        {Status.IN_PROGRESS, Status.AWAITING_CUSTOMER, Status.RESOLVED, Status.CLOSED}
    ),
    Status.IN_PROGRESS: frozenset(
        {Status.OPEN, Status.AWAITING_CUSTOMER, Status.RESOLVED, Status.CLOSED}
    ),
    Status.AWAITING_CUSTOMER: frozenset(
        {Status.OPEN, Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED}
    ),
    Status.RESOLVED: frozenset({Status.IN_PROGRESS, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}


def can_move(before: Status, after: Status) -> bool:
    return after in TRANSITIONS[before]


class ReplyEffect(enum.StrEnum):
    JOIN = "join"
    REOPEN = "reopen"
    NEW_LINKED_TICKET = "new_linked_ticket"


@dataclass(frozen=True)
class ReplyDecision:
    effect: ReplyEffect
    status: Status
    reason: str


def customer_reply(
    status: Status, resolved_at: datetime | None, now: datetime, reopen_window: timedelta
) -> ReplyDecision:
    """What a customer's (or participant's) reply does to a ticket in ``status``."""
    if status is Status.AWAITING_CUSTOMER:
        return ReplyDecision(ReplyEffect.REOPEN, Status.IN_PROGRESS, "the customer answered")
    if status in ACTIVE_STATUSES:
        return ReplyDecision(ReplyEffect.JOIN, status, f"ticket is {status.value}")
    if status is Status.RESOLVED and resolved_at is not None and now - resolved_at <= reopen_window:
        return ReplyDecision(ReplyEffect.REOPEN, Status.IN_PROGRESS, "reply inside reopen window")
    return ReplyDecision(
        ReplyEffect.NEW_LINKED_TICKET,
        Status.OPEN,
        f"ticket is {status.value} and past reopening: a new ticket links to it",
    )
