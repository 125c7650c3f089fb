"""Outlook customers through the real SMTP listener: winmail.dat becomes a ticket's text and
files, and our mails carry a ``Thread-Index`` that extends theirs, so Outlook threads them;
a reply that is all quote is kept whole."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from helpdesk.app.runtime import App
from helpdesk.domain.mail import thread_index
from helpdesk.domain.mail.clean import WHOLE_NOTE, normalized_subject
from helpdesk.domain.notices import Template
from storage.models import Message, MessageAttachment, Outbox, Ticket
from tests.desk import Desk
from tests.domain.test_tnef import FILES, PDF, PNG, RTF, outlook_mail, winmail
from tests.sink import Sink

BOB = "bob@customer.test"
# A Thread-Index as Outlook writes it for a new conversation: 0x01, 40 bits of time, a GUID.
SENT = datetime.now(UTC) - timedelta(hours=2)
GUID = bytes.fromhex("5f0b3c1e9a7d4e21b6c8a1d2e3f40516")
CUSTOMER_INDEX = thread_index.fresh(SENT, uuid.UUID(bytes=GUID))
CUSTOMER_HEADER = base64.b64encode(CUSTOMER_INDEX).decode()


@pytest.fixture
def desk(app: App, sink: Sink) -> Iterator[Desk]:
    with Desk(app, sink) as running:
        yield running


def rows(app: App, template: Template) -> list[Outbox]:
    with app.sessions() as session:
        found = select(Outbox).where(Outbox.template == template).order_by(Outbox.id)
        return list(session.scalars(found))


def index_of(row: Outbox) -> bytes:
    return base64.b64decode(row.context["thread_index"])


def test_winmail_dat_becomes_a_ticket_with_its_files(desk: Desk, app: App) -> None:
    raw = outlook_mail(winmail(rtf=RTF, files=FILES))
    desk.gateway.send(raw, mail_from=BOB)
    desk.settle()
    ticket = desk.ticket()
    assert "the invoice for order 4711 is attached" in ticket.description
    with app.sessions() as session:
        stored = session.execute(
            select(MessageAttachment.filename, MessageAttachment.content_type)
            .join(Message, Message.id == MessageAttachment.message_id)
            .where(Message.ticket_id == ticket.id)
            .order_by(MessageAttachment.id)
        ).all()
    assert [tuple(row) for row in stored] == [
        ("Rechnung März 4711.pdf", "application/pdf"),
        ("screenshot.png", "image/png"),
    ]
    [alert, *_] = desk.inbox("ann@us.test")  # agents get the files with the new ticket
    files = {p.get_filename(): p.get_content() for p in alert.message.iter_attachments()}
    assert files == {"Rechnung März 4711.pdf": PDF, "screenshot.png": PNG}


def test_our_thread_index_extends_the_customers_by_one_block(desk: Desk, app: App) -> None:
    desk.send(
        BOB,
        "support@example.com",
        "The printer shows error 42.",
        subject="Printer error",
        Thread_Index=CUSTOMER_HEADER,
        Thread_Topic="Printer error",
    )
    ticket = desk.ticket()
    [ack] = rows(app, Template.CUSTOMER_ACK)
    assert index_of(ack)[:22] == CUSTOMER_INDEX and len(index_of(ack)) == 27
    assert ack.context["thread_topic"] == "Printer error"
    # the child block holds the time since the customer's header (26 ms steps, bit 0 clear)
    elapsed = int.from_bytes(index_of(ack)[22:26], "big") * (1 << 18) / 10_000_000
    since = (ack.created_at.replace(tzinfo=UTC) - SENT).total_seconds()
    assert elapsed == pytest.approx(since, abs=60)

    desk.send("ann@us.test", desk.agent_token(ticket, "ann"), "Please restart the printer.")
    [answer] = rows(app, Template.CUSTOMER_AGENT_REPLY)
    assert index_of(answer)[:22] == CUSTOMER_INDEX and len(index_of(answer)) == 27

    # Bob answers from Outlook, which extends our mail's Thread-Index by a block of its own
    outlook_reply = index_of(answer) + bytes.fromhex("0000a1b2c3")
    customer_token = str(desk.inbox(BOB)[-1].message["Reply-To"].addresses[0].addr_spec)
    desk.send(
        BOB,
        customer_token,
        "It still shows error 42.",
        subject=f"RE: [{ticket.number}] Printer error",
        Thread_Index=base64.b64encode(outlook_reply).decode(),
        Thread_Topic="Printer error",
    )
    desk.send("ann@us.test", desk.agent_token(ticket, "ann"), "A technician is on the way.")
    second = rows(app, Template.CUSTOMER_AGENT_REPLY)[-1]
    assert index_of(second)[: len(outlook_reply)] == outlook_reply
    assert len(index_of(second)) == len(outlook_reply) + 5
    assert second.context["thread_topic"] == "Printer error"


def test_a_ticket_without_the_customers_index_has_its_own_conversation(
    desk: Desk, app: App
) -> None:
    desk.send("ann@us.test", "support@example.com", f"#customer {BOB} Bob\n\nYour new laptop.")
    ticket = desk.ticket()
    desk.send("ann@us.test", desk.agent_token(ticket, "ann"), "It ships on Monday.")
    with app.sessions() as session:
        mails = list(session.scalars(select(Outbox).where(Outbox.ticket_id == ticket.id)))
    assert any(row.template == Template.CUSTOMER_AGENT_REPLY for row in mails)
    # mails made in one transaction to different people may share an index (the same time,
    # and a one-byte hash of the Message-ID): each is one reply block on the ticket's own header
    indexes = {index_of(row) for row in mails}
    assert len(mails) > 1 and {len(index) for index in indexes} == {27}
    guid = thread_index.conversation_guid(ticket.number, "example.com")
    assert {index[:22] for index in indexes} == {thread_index.fresh(ticket.created_at, guid)}
    topics = {row.context["thread_topic"] for row in mails}
    assert topics == {normalized_subject(ticket.subject)}


def test_a_forged_index_on_an_unproven_mail_is_not_extended(desk: Desk, app: App) -> None:
    desk.send(BOB, "support@example.com", "The scanner is broken.", subject="Scanner")
    ticket = desk.ticket()
    forged = base64.b64encode(CUSTOMER_INDEX).decode()
    desk.send(  # From: alone, the ticket's number in the subject: unverified
        BOB,
        "support@example.com",
        "Me again.",
        subject=f"Re: [{ticket.number}] Scanner",
        Thread_Index=forged,
    )
    desk.send("ann@us.test", desk.agent_token(ticket, "ann"), "Noted.")
    [answer] = rows(app, Template.CUSTOMER_AGENT_REPLY)
    assert index_of(answer)[6:22] != GUID


def test_a_reply_that_is_all_quote_is_kept_whole(desk: Desk, app: App) -> None:
    desk.send(BOB, "support@example.com", "The scanner is broken.", subject="Scanner")
    ticket = desk.ticket()
    token = str(desk.inbox(BOB)[-1].message["Reply-To"].addresses[0].addr_spec)
    quote = "On Mon, Nov 23, 2026 at 10:00 AM Support <support@example.com> wrote:\n> Noted.\n"
    desk.send(BOB, token, quote, subject=f"Re: [{ticket.number}] Scanner")
    with app.sessions() as session:
        last = session.scalars(
            select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id.desc())
        ).first()
        assert last is not None
        assert last.body.startswith(WHOLE_NOTE) and "Noted." in last.body
        assert session.get(Ticket, ticket.id) is not None


def test_a_new_mail_that_is_all_quote_opens_a_ticket_not_a_refusal(desk: Desk) -> None:
    quote = "On Mon, Nov 23, 2026 at 10:00 AM Carl <carl@other.test> wrote:\n> The fax is down.\n"
    desk.send(BOB, "support@example.com", quote, subject="Fax")
    ticket = desk.ticket()
    assert ticket.subject == "Fax" and ticket.description.startswith(WHOLE_NOTE)
    assert "The fax is down." in ticket.description and "> The fax" not in ticket.description


def test_an_agents_reply_that_is_all_quote_sends_nothing(desk: Desk, app: App) -> None:
    """What an agent quotes may be an internal note: it is never sent on to the customer."""
    desk.send(BOB, "support@example.com", "The scanner is broken.", subject="Scanner")
    ticket = desk.ticket()
    desk.send("ann@us.test", desk.agent_token(ticket, "ann"), "#internal\n\nSecret: a VIP.")
    before = len(desk.inbox(BOB))
    quote = (
        "On Mon, Nov 23, 2026 at 10:00 AM Support <support@example.com> wrote:\n> Secret: a VIP.\n"
    )
    desk.send("ann@us.test", desk.agent_token(ticket, "ann"), quote)
    assert len(desk.inbox(BOB)) == before
    with app.sessions() as session:
        bodies = session.scalars(select(Message.body).where(Message.ticket_id == ticket.id)).all()
    assert not any(WHOLE_NOTE in body for body in bodies)


def test_the_delivered_mails_carry_the_headers(desk: Desk, app: App) -> None:
    desk.send(
        BOB,
        "support@example.com",
        "The printer shows error 42.",
        subject="Printer error",
        Thread_Index=CUSTOMER_HEADER,
        Thread_Topic="Printer error",
    )
    ticket = desk.ticket()
    desk.send("ann@us.test", desk.agent_token(ticket, "ann"), "Please restart the printer.")
    [ack, answer] = desk.inbox(BOB)
    for mail in (ack, answer):
        index = base64.b64decode(str(mail.message["Thread-Index"]))
        assert index[:22] == CUSTOMER_INDEX and len(index) == 27
        assert str(mail.message["Thread-Topic"]) == "Printer error"
