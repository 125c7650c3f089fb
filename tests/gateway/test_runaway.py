"""A runaway sender, as an attacker would be one: fifty new mails in one SMTP session."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from gateway.cli import main
from helpdesk.app.runtime import App
from helpdesk.domain.vocabulary import MailStatus
from storage.models import Customer, InboundMail, Ticket
from tests.desk import Desk
from tests.helpers import cli_env, mail
from tests.sink import Sink

ATTACKER = "flood@else.test"
LIMIT = 10
FLOOD = 50


@pytest.fixture
def desk(app: App, sink: Sink) -> Iterator[Desk]:
    """The limit at its default, and acknowledgements not capped below it (the per-address cap
    of automatic answers, 5 an hour by default, is a separate guard)."""
    assert app.settings.max_new_tickets_per_sender_hour == LIMIT
    update = {"answer_limit_per_hour": 2 * LIMIT}
    limited = App(app.settings.model_copy(update=update), app.engine, app.sessions, app.secret)
    running = Desk(limited, sink).start()
    yield running
    running.stop()


def helpdesk(app: App, *args: str) -> str:
    result = CliRunner().invoke(main, list(args), env=cli_env(app.settings))
    assert result.exit_code == 0, result.output
    return result.output


def test_a_flood_opens_the_limit_and_keeps_the_rest(
    desk: Desk, app: App, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="helpdesk.flood")
    with desk.gateway.smtp() as client:
        for i in range(FLOOD):
            message = mail(ATTACKER, subject=f"Cheap watches {i}", body=f"Offer {i}, act now.")
            client.send_message(message)
    desk.settle()
    desk.send("calm@customer.test", "support@example.com", "My order is late.", subject="Late")

    with app.sessions() as session:
        opened = session.scalars(
            select(Ticket.number).join(Ticket.customer).where(Customer.email == ATTACKER)
        ).all()
        held = session.execute(
            select(InboundMail.id, InboundMail.reason).where(
                InboundMail.from_address == ATTACKER,
                InboundMail.status == MailStatus.QUARANTINED,
            )
        ).all()
        others = session.scalars(select(Ticket).where(Ticket.number.not_in(opened))).all()
    assert len(opened) == LIMIT
    assert len(held) == FLOOD - LIMIT  # kept, every one
    assert all("sender limit" in reason and ATTACKER in reason for _, reason in held)
    acks = desk.inbox(ATTACKER)
    assert len(acks) == LIMIT  # one per ticket opened, none for the held
    assert {n for n in opened if any(n in a.text() for a in acks)} == set(opened)
    assert len(others) == 1  # another sender is not held back

    listed = helpdesk(app, "mail", "list", "--limit", "100")
    assert listed.count("sender limit") == FLOOD - LIMIT
    shown = helpdesk(app, "mail", "show", str(held[0][0]))
    assert "status:     quarantined" in shown and "sender limit" in shown
    ticket = helpdesk(app, "tickets", "show", opened[0])  # the agents see it on their tickets
    assert f"{FLOOD - LIMIT} further mails from {ATTACKER}, held by the sender limit" in ticket
    assert '"held_mails": 40' in helpdesk(app, "tickets", "show", opened[0], "--json")
    calm = helpdesk(app, "tickets", "show", others[0].number)
    assert "held" not in calm.split("History:")[0]
    warned = [r for r in caplog.records if r.name == "helpdesk.flood"]
    assert len(warned) == FLOOD - LIMIT
