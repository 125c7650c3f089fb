"""The commands stage for customers, over SMTP: hash lines are text, but #close and #help work."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpdesk.app.runtime import App
from helpdesk.domain.vocabulary import Priority, Status
from tests.desk import Desk
from tests.sink import Sink


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
