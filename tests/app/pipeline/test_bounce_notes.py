"""Bounces in the MTAs' own formats through the real pipeline: never a ticket; noted on the
ticket of the mail of ours they name, and counted only then."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from helpdesk.app.pipeline.context import Outcome
from helpdesk.app.runtime import App
from helpdesk.domain.vocabulary import EventKind, MessageKind
from storage.models import Customer, InboundMail, Message, Outbox, Ticket, TicketEvent
from tests.domain.test_bounces import BOUNCES, sample
from tests.helpers import mail, store_and_drain

CUSTOMER = "cy@customer.test"


def qmail_bounce(failed: str, quoted_id: str) -> bytes:
    """A qmail bounce (QSBMF): no report part, no X-Failed-Recipients, a copy of our mail."""
    return (
        "From: MAILER-DAEMON@mx.customer.test\r\nTo: support@example.com\r\n"
        "Subject: failure notice\r\nMessage-ID: <qsbmf-1@mx.customer.test>\r\n\r\n"
        "Hi. This is the qmail-send program at mx.customer.test.\r\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\r\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n"
        f"<{failed}>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n"
        "550 5.1.1 mailbox unavailable\r\n\r\n"
        "--- Below this line is a copy of the message.\r\n\r\n"
        f"From: support@example.com\r\nTo: {failed}\r\nMessage-ID: {quoted_id}\r\n"
        "Subject: [TKT-X] We have your request\r\n\r\nThank you.\r\n"
    ).encode()


def count(app: App, table: type[object]) -> int:
    with app.sessions() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def last_mail(app: App) -> InboundMail:
    with app.sessions() as session:
        found = session.scalars(select(InboundMail).order_by(InboundMail.id.desc())).first()
        assert found is not None
        return found


def opened_by_customer(app: App) -> tuple[Ticket, str]:
    """A ticket from the customer, and the Message-ID of our acknowledgement to them."""
    store_and_drain(app, mail(CUSTOMER, body="My order is late.").as_bytes(), sender=CUSTOMER)
    with app.sessions() as session:
        ticket = session.scalars(select(Ticket)).one()
        ack = session.scalars(select(Outbox).where(Outbox.recipient == CUSTOMER)).one()
        return ticket, ack.message_id


def test_a_qmail_bounce_of_our_mail_is_noted_on_its_ticket(app: App) -> None:
    ticket, ack_id = opened_by_customer(app)
    outbox = count(app, Outbox)
    store_and_drain(app, qmail_bounce(CUSTOMER, ack_id), sender="")
    found = last_mail(app)
    assert (found.outcome, found.ticket_id) == (Outcome.BOUNCE_NOTED.value, ticket.id)
    with app.sessions() as session:
        customer = session.scalars(select(Customer).where(Customer.email == CUSTOMER)).one()
        assert customer.bouncing and "550 5.1.1" in customer.bounce_reason
        note = session.scalars(
            select(Message).where(
                Message.ticket_id == ticket.id, Message.kind == MessageKind.SYSTEM
            )
        ).one()
        assert note.body.startswith(f"Delivery to {CUSTOMER} failed")
        event = session.scalars(
            select(TicketEvent).where(TicketEvent.kind == EventKind.BOUNCE_RECEIVED)
        ).one()
        assert event.after["counted"] == [CUSTOMER]
    assert count(app, Ticket) == 1 and count(app, Outbox) == outbox  # no ticket, no answer


def test_a_qmail_bounce_naming_no_mail_of_ours_marks_nobody(app: App) -> None:
    opened_by_customer(app)
    store_and_drain(app, qmail_bounce(CUSTOMER, "<made-up@example.com>"), sender="")
    found = last_mail(app)
    assert found.outcome == Outcome.IGNORED.value
    assert "names no mail of ours" in found.reason
    with app.sessions() as session:
        customer = session.scalars(select(Customer).where(Customer.email == CUSTOMER)).one()
        assert not customer.bouncing
    assert count(app, Ticket) == 1


@pytest.mark.parametrize(
    "name",
    [
        "postfix_01.txt",
        "exim_01.txt",
        "qmail_01.txt",
        "sendmail_01.txt",
        "microsoft_01.txt",
        "yahoo_04.txt",
        "aol_01.txt",
        "simple_02.txt",
        "simple_03.txt",
    ],
)
def test_no_bounce_opens_a_ticket(app: App, name: str) -> None:
    """flufl.bounce's samples, each sent as an MTA sends them: none is ours, so each is
    recorded and set aside, with the addresses it names in the reason."""
    store_and_drain(app, sample(name), sender="")
    found = last_mail(app)
    assert found.outcome == Outcome.IGNORED.value, found.reason
    expected = next(addresses for file, addresses, _ in BOUNCES if file == name)
    assert all(address in found.reason for address in expected)
    assert count(app, Ticket) == 0 and count(app, Outbox) == 0
