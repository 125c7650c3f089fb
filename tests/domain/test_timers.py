"""The SLA clocks as pure decisions: which timers a ticket wants, and when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpdesk.domain import calendar, timers
from helpdesk.domain.calendar import Calendar
from helpdesk.domain.timers import absence, escalation, sla
from helpdesk.domain.timers.facts import Facts, Policy
from helpdesk.domain.vocabulary import Status

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TARGETS = sla.Targets(timedelta(hours=1), timedelta(hours=4), timedelta(hours=8))


POLICY = Policy(0.8)


def facts(**changes: object) -> Facts:
    base: dict[str, object] = {
        "status": Status.OPEN,
        "first_response_due": T0 + timedelta(hours=1),
        "first_responded_at": None,
        "next_response_due": None,
        "resolution_due": T0 + timedelta(hours=8),
        "waiting_since": None,
        "resolved_at": None,
    }
    return Facts(**(base | changes))  # type: ignore[arg-type]


def test_a_new_ticket_wants_a_warning_and_a_breach_per_running_clock() -> None:
    assert sla.wanted(facts(), TARGETS, 0.8) == {
        "first_response_warning": T0 + timedelta(minutes=48),
        "first_response_breach": T0 + timedelta(hours=1),
        "resolution_warning": T0 + timedelta(hours=6, minutes=24),
        "resolution_breach": T0 + timedelta(hours=8),
    }


def test_answered_paused_or_done_clocks_want_nothing() -> None:
    answered = facts(first_responded_at=T0 + timedelta(minutes=5))
    assert set(sla.wanted(answered, TARGETS, 0.8)) == {"resolution_warning", "resolution_breach"}
    waiting = facts(status=Status.AWAITING_CUSTOMER, waiting_since=T0, first_responded_at=T0)
    assert sla.wanted(waiting, TARGETS, 0.8) == {}
    assert sla.wanted(facts(status=Status.RESOLVED), TARGETS, 0.8) == {}
    again = facts(first_responded_at=T0, next_response_due=T0 + timedelta(hours=5))
    assert sla.wanted(again, TARGETS, 0.8)["next_response_warning"] == T0 + timedelta(
        hours=4, minutes=12
    )


def test_a_timer_fires_only_if_the_ticket_still_wants_it() -> None:
    due = T0 + timedelta(hours=1)
    assert timers.wanted(facts(), POLICY, TARGETS)["first_response_breach"] == due
    answered = facts(first_responded_at=T0 + timedelta(minutes=30))
    assert "first_response_breach" not in timers.wanted(answered, POLICY, TARGETS)
    moved = facts(first_response_due=T0 + timedelta(hours=4))  # a lower priority since
    assert timers.wanted(moved, POLICY, TARGETS)["first_response_breach"] != due


def test_a_pause_moves_the_resolution_due_time() -> None:
    resumed = sla.resumed(T0 + timedelta(hours=8), T0 + timedelta(hours=2), T0 + timedelta(hours=5))
    assert resumed == T0 + timedelta(hours=11)
    assert sla.waited(T0, T0 + timedelta(days=2, hours=3)) == "2d 3h"
    assert sla.waited(T0, T0 + timedelta(minutes=75)) == "1h 15m"
    assert sla.parse_kind("next_response_breach") == (sla.Clock.NEXT_RESPONSE, sla.Level.BREACH)
    assert sla.parse_kind("digest") is None


def test_auto_resolve_with_a_reminder_and_auto_close() -> None:
    policy = Policy(0.8, timedelta(days=7), timedelta(days=2), timedelta(days=3))
    waiting = facts(status=Status.AWAITING_CUSTOMER, waiting_since=T0, first_responded_at=T0)
    assert timers.wanted(waiting, policy, TARGETS) == {
        "auto_resolve": T0 + timedelta(days=7),
        "auto_resolve_reminder": T0 + timedelta(days=5),
    }
    resolved = facts(status=Status.RESOLVED, resolved_at=T0, first_responded_at=T0)
    assert timers.wanted(resolved, policy, TARGETS) == {"auto_close": T0 + timedelta(days=3)}
    assert timers.wanted(resolved, Policy(0.8), TARGETS) == {}  # turned off


def test_with_business_hours_the_warning_counts_back_in_business_time() -> None:
    office = Calendar("Europe/Berlin", calendar.parse_hours("Mon-Fri 09:00-17:00"))
    hours = sla.Targets(timedelta(hours=1), timedelta(hours=4), timedelta(hours=8), office)
    monday = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)  # 09:30 in Berlin, an hour after opening
    warning = sla.wanted(facts(first_response_due=monday), hours, 0.8)["first_response_warning"]
    assert warning == monday - timedelta(minutes=12)
    late = sla.wanted(facts(first_response_due=monday), hours, 0.2)["first_response_warning"]
    assert late == datetime(2026, 12, 4, 15, 42, tzinfo=UTC)  # Friday 16:42, before the weekend


def test_a_pause_in_business_hours_leaves_the_business_time_that_was_left() -> None:
    office = Calendar("Europe/Berlin", calendar.parse_hours("Mon-Fri 09:00-17:00"))
    due = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)  # Friday 16:00: two business hours left
    paused, back = due - timedelta(hours=2), datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    assert sla.resumed(due, paused, back, office) == datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    overdue = sla.resumed(due, due + timedelta(hours=1), due + timedelta(hours=3))
    assert overdue == due  # breached before the pause: not breached again after it


def test_escalation_counts_from_the_last_agent_activity_once_per_silence() -> None:
    policy = Policy(0.8, escalate_after=timedelta(hours=4))
    assert escalation.wanted(facts(created_at=T0), policy, None) == {
        "escalation": T0 + timedelta(hours=4)
    }
    touched = facts(created_at=T0, agent_active_at=T0 + timedelta(hours=1))
    assert escalation.wanted(touched, policy, None)["escalation"] == T0 + timedelta(hours=5)
    told = facts(created_at=T0, escalated_at=T0 + timedelta(hours=4))
    assert escalation.wanted(told, policy, None) == {}
    answered = facts(
        created_at=T0,
        agent_active_at=T0,
        team_turn_at=T0 + timedelta(days=3),
        status=Status.IN_PROGRESS,
    )
    assert escalation.wanted(answered, policy, None)["escalation"] == T0 + timedelta(
        days=3, hours=4
    )
    waiting = facts(created_at=T0, status=Status.AWAITING_CUSTOMER, waiting_since=T0)
    assert escalation.wanted(waiting, policy, None) == {}  # the customer's turn, not the team's
    assert escalation.wanted(facts(created_at=T0), Policy(0.8), None) == {}  # turned off
    office = Calendar("UTC", calendar.parse_hours("Mon-Fri 09:00-17:00"))
    friday = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
    late = escalation.wanted(facts(created_at=friday), policy, office)["escalation"]
    assert late == datetime(2026, 12, 7, 11, 0, tzinfo=UTC)  # business time


def test_an_absent_assignees_ticket_is_handed_back_after_the_grace_unless_they_are_back() -> None:
    policy = Policy(0.8, handback_after=timedelta(hours=1))
    away = facts(assignee_away=(T0, T0 + timedelta(days=3)))
    assert absence.wanted(away, policy) == {"absence_handback": T0 + timedelta(hours=1)}
    short = facts(assignee_away=(T0, T0 + timedelta(minutes=30)))
    assert absence.wanted(short, policy) == {}  # back before the grace is over
    assert absence.wanted(facts(), policy) == {}
    assert (
        absence.wanted(
            facts(status=Status.RESOLVED, assignee_away=(T0, T0 + timedelta(days=3))), policy
        )
        == {}
    )
