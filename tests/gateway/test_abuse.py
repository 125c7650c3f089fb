"""Abuse of the gateway, tried over SMTP as an attacker would (issue 11): nothing is amplified."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import ColumnElement, func, select

from helpdesk.app.runtime import App
from storage.models import Customer, Outbox, Ticket, TicketParticipant
from tests.desk import Desk
from tests.sink import Sink


@pytest.fixture
def desk(app: App, sink: Sink) -> Iterator[Desk]:
    running = Desk(app, sink).start()
    yield running
    running.stop()


def count(app: App, table: type[object], where: ColumnElement[bool] | None = None) -> int:
    query = select(func.count()).select_from(table)
    with app.sessions() as session:
        return session.scalar(query if where is None else query.where(where)) or 0


def test_three_thousand_cc_make_twenty_participants(desk: Desk, app: App) -> None:
    """Item 9: each participant receives every later reply; a mail cannot enrol a crowd."""
    crowd = ", ".join(f"victim{i}@else.test" for i in range(3000))
    desk.send("cy@customer.test", "support@example.com", "Please help.", subject="Crowd", cc=crowd)
    assert count(app, TicketParticipant) == 20
    assert count(app, Customer) == 21
    desk.send(
        "cy@customer.test",
        str(desk.inbox("cy@customer.test")[0].message["Reply-To"]),
        "And more.",
        cc=", ".join(f"more{i}@else.test" for i in range(50)),
    )
    assert count(app, TicketParticipant) == 20  # the ticket is full
    reply = str(desk.inbox("ann@us.test")[-1].message["Reply-To"])
    desk.send("ann@us.test", reply, "We are looking into it.")
    assert count(app, Outbox, Outbox.template == "customer/agent_reply") == 21


def test_forged_mail_gets_a_third_party_a_bounded_number_of_answers(desk: Desk) -> None:
    """Item 7: refusals, #help and acknowledgements share one limit per address."""
    for i in range(4):
        desk.send("victim@else.test", "support@example.com", "Hi", subject="")  # refused
        desk.send("victim@else.test", "support@example.com", "#help", subject=f"help {i}")
        desk.send("victim@else.test", "support@example.com", f"Order {i} is late.", subject="Late")
    assert len(desk.inbox("victim@else.test")) == 5


def test_no_answers_at_all_past_the_hourly_cap(app: App, sink: Sink) -> None:
    settings = app.settings.model_copy(update={"answer_cap_per_hour": 3})
    capped = App(settings, app.engine, app.sessions, app.secret)
    running = Desk(capped, sink).start()
    try:
        for i in range(5):
            running.send(f"new{i}@customer.test", "support@example.com", "Help me.", subject="Hi")
    finally:
        running.stop()
    answered = [i for i in range(5) if running.inbox(f"new{i}@customer.test")]
    assert answered == [0, 1, 2] and count(app, Ticket) == 5  # every mail is still a ticket
