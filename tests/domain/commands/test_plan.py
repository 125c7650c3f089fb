"""A mail's commands checked together: role, scope, visibility, repeats, all or nothing."""

from __future__ import annotations

import pytest

from helpdesk.domain.commands.base import Scope
from helpdesk.domain.permissions import AgentInfo, TicketView
from helpdesk.domain.vocabulary import Status
from tests.domain.commands.people import ADA, ANN, BEN, BENS, OPEN, SUE, checked

OK, NO = True, False
TICKET_COMMANDS = [
    # command, agent, supervisor, admin
    ("#status pending", OK, OK, OK),
    ("#priority high", OK, OK, OK),
    ("#assign me", OK, OK, OK),
    ("#assign ben", NO, OK, OK),
    ("#assign group:billing", NO, OK, OK),
    ("#unassign", OK, OK, OK),
    ("#internal", OK, OK, OK),
    ("#resolve fixed it", OK, OK, OK),
    ("#close", OK, OK, OK),
    ("#category billing", OK, OK, OK),
    ("#tag +vip -new", OK, OK, OK),
    ("#ref ORDER-1234", OK, OK, OK),
    ("#block 7d spam", NO, OK, OK),
    ("#unblock", NO, OK, OK),
    ("#help", OK, OK, OK),
    ("#customer new@customer.test", NO, NO, NO),  # only in a new mail
]
NEW_MAIL_COMMANDS = [
    ("#customer new@customer.test New Person", OK),
    ("#list status:open", OK),
    ("#show TKT-AAAAAA", OK),
    ("#help", OK),
    ("#priority high", NO),  # a ticket command without a ticket
]


def allowed(text: str, who: AgentInfo, scope: Scope, ticket: TicketView | None) -> bool:
    result = checked(text, who, ticket, scope)
    return not result.problems and bool(result.actions)


@pytest.mark.parametrize(("text", "agent", "supervisor", "admin"), TICKET_COMMANDS)
def test_ticket_commands_by_role(text: str, agent: bool, supervisor: bool, admin: bool) -> None:
    scope = Scope.TICKET
    assert (
        allowed(text, ANN, scope, OPEN),
        allowed(text, SUE, scope, OPEN),
        allowed(text, ADA, scope, OPEN),
    ) == (agent, supervisor, admin)


@pytest.mark.parametrize(("text", "expected"), NEW_MAIL_COMMANDS)
def test_new_mail_commands(text: str, expected: bool) -> None:
    for who in (ANN, SUE, ADA):
        assert allowed(text, who, Scope.NEW, None) is expected


def test_ticket_commands_after_customer_open_the_new_ticket() -> None:
    result = checked("#customer new@customer.test\n#priority high", ANN, None, Scope.NEW)
    assert result.problems == [] and result.new_ticket_for is not None
    assert result.new_ticket_for.email == "new@customer.test"


def test_a_new_mail_without_commands_is_explained() -> None:
    [problem] = checked("Hello", ANN, None, Scope.NEW).problems
    assert "start with #customer EMAIL" in str(problem)


def test_an_agent_cannot_act_on_a_colleagues_ticket_but_a_supervisor_can() -> None:
    assert not allowed("#priority high", ANN, Scope.TICKET, BENS)
    assert allowed("#priority high", SUE, Scope.TICKET, BENS)
    assert not allowed("#unassign", ANN, Scope.TICKET, BENS)
    assert allowed("#unassign", BEN, Scope.TICKET, BENS)


def test_group_tickets_are_visible_to_members() -> None:
    grouped = TicketView("TKT-CCCCCC", Status.OPEN, None, 7)
    assert allowed("#assign me", BEN, Scope.TICKET, grouped)
    assert not allowed("#assign me", ANN, Scope.TICKET, grouped)


def test_all_or_nothing() -> None:
    result = checked("#priority high\n#category nonsense\n#tag +vip")
    assert result.actions == [] and len(result.problems) == 1


def test_a_command_given_twice_is_a_problem_unless_repeatable() -> None:
    assert "#priority is given twice" in str(checked("#priority high\n#priority low").problems[0])
    assert len(checked("#tag +a\n#tag +b").actions) == 2


def test_two_status_commands_contradict_each_other() -> None:
    [problem] = checked("#status pending\n#close").problems
    assert str(problem) == "#status and #close contradict each other"


def test_the_plan_says_what_the_mail_does() -> None:
    result = checked("#internal\n#priority high\n#help")
    assert result.internal and not result.sets_status
    assert result.changed_lines == ["#internal", "#priority high"]
    assert [a.name for a in result.actions if a.answers] == ["help"]
    assert checked("#resolve done").sets_status


def test_a_plain_reply_on_a_ticket_the_agent_may_not_see_is_refused() -> None:
    [problem] = checked("Hello, I will look into it.", ANN, BENS).problems
    assert "TKT-BBBBBB is assigned to someone else: nothing was posted" in str(problem)
    assert checked("Hello, I will look into it.", BEN, BENS).problems == []
