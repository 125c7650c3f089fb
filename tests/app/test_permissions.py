"""Each command as agent, supervisor and admin (checked plans), and as a customer (over SMTP)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpdesk.app.runtime import App
from helpdesk.domain import grammar
from helpdesk.domain.actions import AgentInfo, Directory, TicketView, plan
from helpdesk.domain.vocabulary import Priority, Role, Status
from tests.desk import Desk
from tests.sink import Sink

ANN = AgentInfo(1, "ann@us.test", "Ann Archer", Role.AGENT)
BEN = AgentInfo(2, "ben@us.test", "Ben Baker", Role.AGENT, frozenset({7}))
SUE = AgentInfo(3, "sue@us.test", "Sue Super", Role.SUPERVISOR)
ADA = AgentInfo(4, "ada@us.test", "Ada Admin", Role.ADMIN)
DIRECTORY = Directory((ANN, BEN, SUE, ADA), {"billing": 7}, ("general", "billing"))
OPEN = TicketView("TKT-AAAAAA", Status.OPEN, None, None)
BENS = TicketView("TKT-BBBBBB", Status.IN_PROGRESS, 2, None)

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


def allowed(text: str, who: AgentInfo, scope: grammar.Scope, ticket: TicketView | None) -> bool:
    result = plan(grammar.parse(text), who, scope, ticket, DIRECTORY)
    return not result.problems and bool(result.actions)


@pytest.mark.parametrize(("text", "agent", "supervisor", "admin"), TICKET_COMMANDS)
def test_ticket_commands_by_role(text: str, agent: bool, supervisor: bool, admin: bool) -> None:
    scope = grammar.Scope.TICKET
    assert (
        allowed(text, ANN, scope, OPEN),
        allowed(text, SUE, scope, OPEN),
        allowed(text, ADA, scope, OPEN),
    ) == (agent, supervisor, admin)


@pytest.mark.parametrize(("text", "expected"), NEW_MAIL_COMMANDS)
def test_new_mail_commands(text: str, expected: bool) -> None:
    for who in (ANN, SUE, ADA):
        assert allowed(text, who, grammar.Scope.NEW, None) is expected


def test_an_agent_cannot_act_on_a_colleagues_ticket_but_a_supervisor_can() -> None:
    assert not allowed("#priority high", ANN, grammar.Scope.TICKET, BENS)
    assert allowed("#priority high", SUE, grammar.Scope.TICKET, BENS)
    assert not allowed("#unassign", ANN, grammar.Scope.TICKET, BENS)
    assert allowed("#unassign", BEN, grammar.Scope.TICKET, BENS)


def test_group_tickets_are_visible_to_members() -> None:
    grouped = TicketView("TKT-CCCCCC", Status.OPEN, None, 7)
    assert allowed("#assign me", BEN, grammar.Scope.TICKET, grouped)
    assert not allowed("#assign me", ANN, grammar.Scope.TICKET, grouped)


@pytest.fixture
def desk(app: App, sink: Sink) -> Iterator[Desk]:
    running = Desk(app, sink).start()
    running.send("cy@customer.test", "support@example.com", "Help please.", subject="Broken")
    yield running
    running.stop()


def customer_token(desk: Desk) -> str:
    return str(desk.inbox("cy@customer.test")[0].message["Reply-To"])


@pytest.mark.parametrize(
    "text", ["#status closed", "#priority urgent", "#assign me", "#block permanent", "#internal"]
)
def test_a_customers_hash_lines_are_just_text(desk: Desk, text: str) -> None:
    desk.send("cy@customer.test", customer_token(desk), f"{text}\nplease")
    ticket = desk.ticket()
    assert ticket.priority is Priority.MEDIUM and ticket.assignee_agent_id is None
    assert ticket.status is Status.OPEN


def test_a_customer_may_close_their_ticket(desk: Desk) -> None:
    desk.send("cy@customer.test", customer_token(desk), "#close\nAll good now, thanks.")
    assert desk.ticket().status is Status.RESOLVED


def test_anyone_may_ask_for_help(desk: Desk) -> None:
    desk.send("stranger@else.test", "support@example.com", "#help", subject="help")
    [answer] = desk.inbox("stranger@else.test")
    assert "#status" in answer.text() and answer.message["Auto-Submitted"] == "auto-replied"
    assert len([t for t in [desk.ticket()] if t.subject == "help"]) == 0
