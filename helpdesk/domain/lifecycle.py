"""The ticket state machine: which status follows which, and every automatic move.

Pure functions over plain values. Every status change goes through ``require_move`` (in
``tickets.set_status``); each automatic move is decided by one function here (``on_…`` and
``customer_reply``), so a new one (a timer's, say) is one function and one line at its caller.
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


class IllegalMove(ValueError):
    """A status change the state machine does not allow: a bug in the caller, never input."""


def can_move(before: Status, after: Status) -> bool:
    return after in TRANSITIONS[before]


def require_move(before: Status, after: Status) -> None:
    if before is not after and not can_move(before, after):
        raise IllegalMove(f"a ticket cannot go from {before.value} to {after.value}")


def on_assign(status: Status) -> Status:
    """Assigning an open ticket starts the work on it."""
    return Status.IN_PROGRESS if status is Status.OPEN else status


def on_agent_reply(status: Status, sets_status: bool) -> Status:
    """An agent's public reply waits for the customer, unless the same mail sets the status."""
    return Status.AWAITING_CUSTOMER if status in ACTIVE_STATUSES and not sets_status else status


def on_customer_close(status: Status) -> Status:
    """The customer's ``#close`` (or closing keyword) resolves the ticket: an agent closes it."""
    return Status.RESOLVED if status in (*ACTIVE_STATUSES, Status.RESOLVED) else status


def on_silence(status: Status) -> Status:
    """Waiting for the customer, with no reply for the auto-resolve time: resolved."""
    return Status.RESOLVED if status is Status.AWAITING_CUSTOMER else status


def on_resolved_long_enough(status: Status) -> Status:
    """Resolved, with no reply for the auto-close time: closed."""
    return Status.CLOSED if status is Status.RESOLVED else status


def on_block(status: Status) -> Status:
    """Blocking a customer closes their active tickets."""
    return Status.CLOSED if status in ACTIVE_STATUSES else status


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
