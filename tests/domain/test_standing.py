"""Where a ticket stands against its SLA (the queue's colours), decided over plain values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpdesk.domain.timers import sla
from helpdesk.domain.timers.facts import Facts
from helpdesk.domain.timers.standing import Seen, Standing, seen
from helpdesk.domain.vocabulary import Status

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TARGETS = sla.Targets(timedelta(hours=1), timedelta(hours=4), timedelta(hours=8))
HOUR = timedelta(hours=1)


def facts(**changes: object) -> Facts:
    base: dict[str, object] = {
        "status": Status.OPEN,
        "first_response_due": T0 + HOUR,
        "first_responded_at": None,
        "next_response_due": None,
        "resolution_due": T0 + 8 * HOUR,
        "waiting_since": None,
        "resolved_at": None,
        "created_at": T0,
    }
    return Facts(**(base | changes))  # type: ignore[arg-type]


def test_ok_then_warning_then_breached_as_the_first_response_clock_runs() -> None:
    at = {minutes: T0 + timedelta(minutes=minutes) for minutes in (10, 48, 60)}
    assert seen(facts(), TARGETS, 0.8, at[10]) == Seen(Standing.OK, T0, T0 + HOUR)
    assert seen(facts(), TARGETS, 0.8, at[48]).standing is Standing.WARNING
    assert seen(facts(), TARGETS, 0.8, at[60]).standing is Standing.BREACHED


def test_an_answered_ticket_stands_by_its_resolution_clock() -> None:
    answered = facts(first_responded_at=T0 + timedelta(minutes=5))
    found = seen(answered, TARGETS, 0.8, T0 + 2 * HOUR)
    assert found.standing is Standing.OK and found.due == T0 + 8 * HOUR
    late = seen(answered, TARGETS, 0.8, T0 + 7 * HOUR)
    assert late.standing is Standing.WARNING


def test_waiting_for_the_customer_is_their_turn_whatever_the_clocks() -> None:
    paused = facts(status=Status.AWAITING_CUSTOMER, waiting_since=T0 + HOUR)
    found = seen(paused, TARGETS, 0.8, T0 + 30 * HOUR)
    assert found.standing is Standing.AWAITING and found.waiting_since == T0 + HOUR


def test_the_teams_turn_counts_from_the_customers_answer() -> None:
    back = facts(first_responded_at=T0, team_turn_at=T0 + 3 * HOUR)
    assert seen(back, TARGETS, 0.8, T0 + 4 * HOUR).waiting_since == T0 + 3 * HOUR


def test_no_clock_no_colour() -> None:
    assert seen(facts(status=Status.RESOLVED), TARGETS, 0.8, T0).standing is Standing.NONE
    assert seen(facts(), None, 0.8, T0 + 9 * HOUR).standing is Standing.NONE
