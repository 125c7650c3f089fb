from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from helpdesk.domain import lifecycle
from helpdesk.domain.lifecycle import ReplyEffect, can_move, customer_reply
from helpdesk.domain.vocabulary import Status

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
WINDOW = timedelta(days=7)


@pytest.mark.parametrize(
    ("status", "resolved_ago", "effect", "after"),
    [
        (Status.OPEN, None, ReplyEffect.JOIN, Status.OPEN),
        (Status.IN_PROGRESS, None, ReplyEffect.JOIN, Status.IN_PROGRESS),
        (Status.AWAITING_CUSTOMER, None, ReplyEffect.REOPEN, Status.IN_PROGRESS),
        (Status.RESOLVED, timedelta(days=2), ReplyEffect.REOPEN, Status.IN_PROGRESS),
        (Status.RESOLVED, timedelta(days=8), ReplyEffect.NEW_LINKED_TICKET, Status.OPEN),
        (Status.CLOSED, timedelta(days=1), ReplyEffect.NEW_LINKED_TICKET, Status.OPEN),
    ],
)
def test_customer_reply(
    status: Status, resolved_ago: timedelta | None, effect: ReplyEffect, after: Status
) -> None:
    resolved_at = NOW - resolved_ago if resolved_ago else None
    decision = customer_reply(status, resolved_at, NOW, WINDOW)
    assert (decision.effect, decision.status) == (effect, after)


def test_closed_is_final_and_resolved_only_reopens_or_closes() -> None:
    assert not any(can_move(Status.CLOSED, s) for s in Status)
    assert {s for s in Status if can_move(Status.RESOLVED, s)} == {
        Status.IN_PROGRESS,
        Status.CLOSED,
    }
    assert can_move(Status.OPEN, Status.IN_PROGRESS) and not can_move(Status.OPEN, Status.OPEN)


def test_every_move_is_checked() -> None:
    lifecycle.require_move(Status.OPEN, Status.IN_PROGRESS)
    lifecycle.require_move(Status.CLOSED, Status.CLOSED)  # no move at all
    with pytest.raises(lifecycle.IllegalMove, match="from closed to open"):
        lifecycle.require_move(Status.CLOSED, Status.OPEN)
    with pytest.raises(lifecycle.IllegalMove):
        lifecycle.require_move(Status.RESOLVED, Status.AWAITING_CUSTOMER)


@pytest.mark.parametrize(
    ("move", "before", "after"),
    [
        (lifecycle.on_assign, Status.OPEN, Status.IN_PROGRESS),
        (lifecycle.on_assign, Status.AWAITING_CUSTOMER, Status.AWAITING_CUSTOMER),
        (lifecycle.on_customer_close, Status.AWAITING_CUSTOMER, Status.RESOLVED),
        (lifecycle.on_customer_close, Status.CLOSED, Status.CLOSED),
        (lifecycle.on_block, Status.IN_PROGRESS, Status.CLOSED),
        (lifecycle.on_block, Status.RESOLVED, Status.RESOLVED),
    ],
)
def test_automatic_moves(move: Callable[[Status], Status], before: Status, after: Status) -> None:
    assert move(before) is after
    lifecycle.require_move(before, after)


def test_an_agents_reply_waits_for_the_customer_unless_it_sets_the_status() -> None:
    assert lifecycle.on_agent_reply(Status.IN_PROGRESS, False) is Status.AWAITING_CUSTOMER
    assert lifecycle.on_agent_reply(Status.IN_PROGRESS, True) is Status.IN_PROGRESS
    assert lifecycle.on_agent_reply(Status.RESOLVED, False) is Status.RESOLVED
