"""Conversations with the gateway over a real SMTP socket, then what they left in the database."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from helpdesk.app.runtime import App
from helpdesk.domain import tokens
from helpdesk.domain.vocabulary import EventKind, MailStatus, Status
from storage import spool
from storage.models import (
    Customer,
    InboundMail,
    Message,
    Outbox,
    Ticket,
    TicketEvent,
    TicketParticipant,
)
from tests.helpers import GatewayThread, mail, tickets


def token_address(app: App, ticket: Ticket, party: tokens.Party, party_id: int) -> str:
    token = tokens.Token(ticket.number, party, party_id)
    return tokens.reply_address(app.secret, "support@example.com", token)


def messages_of(app: App, ticket: Ticket) -> list[Message]:
    with app.sessions() as session:
        return list(
            session.scalars(
                select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id)
            )
        )


def set_status(app: App, ticket: Ticket, status: Status, resolved_days_ago: float = 0) -> None:
    with app.sessions.begin() as session:
        row = session.get(Ticket, ticket.id)
        assert row is not None
        row.status = status
        if status in (Status.RESOLVED, Status.CLOSED):
            row.resolved_at = datetime.now(UTC) - timedelta(days=resolved_days_ago)


def test_new_mail_opens_a_ticket(gateway: GatewayThread, app: App) -> None:
    gateway.send(mail(sender="Alice Customer <alice@customer.test>"))
    gateway.settle()
    [ticket] = tickets(app)
    assert ticket.number.startswith("TKT-") and len(ticket.number) == 10
    assert ticket.subject == "My printer is on fire"
    assert ticket.description.startswith("Hello, the printer in room 4 is on fire.")
    assert (ticket.status, ticket.priority.value, ticket.category) == (
        Status.OPEN,
        "medium",
        "general",
    )
    assert ticket.first_response_due is not None and ticket.resolution_due is not None
    with app.sessions() as session:
        customer = session.get(Customer, ticket.customer_id)
        assert customer is not None and (customer.email, customer.name) == (
            "alice@customer.test",
            "Alice Customer",
        )
        kinds = session.scalars(select(TicketEvent.kind).order_by(TicketEvent.id)).all()
    assert kinds == [EventKind.TICKET_CREATED, EventKind.TICKET_COMMENTED]


def test_reply_by_signed_token_joins_and_reopens(gateway: GatewayThread, app: App) -> None:
    gateway.send(mail())
    gateway.settle()
    [ticket] = tickets(app)
    set_status(app, ticket, Status.AWAITING_CUSTOMER)
    address = token_address(app, ticket, tokens.Party.CUSTOMER, ticket.customer_id)
    gateway.send(mail(to=address, subject="Re: something else entirely", body="Still burning."))
    gateway.settle()
    [after] = tickets(app)
    assert after.status is Status.IN_PROGRESS
    assert [m.body for m in messages_of(app, ticket)][-1] == "Still burning."


def test_reply_by_in_reply_to_our_message_id(gateway: GatewayThread, app: App) -> None:
    gateway.send(mail())
    gateway.settle()
    [ticket] = tickets(app)
    ours = "<outbound.1@helpdesk.example.com>"
    with app.sessions.begin() as session:
        now = datetime.now(UTC)
        session.add(
            Outbox(
                message_id=ours,
                ticket_id=ticket.id,
                template="ack",
                recipient="alice@customer.test",
                audience="customer",
                next_attempt_at=now,
                created_at=now,
            )
        )
    gateway.send(mail(sender="other.person@elsewhere.test", subject="Re: hi", in_reply_to=ours))
    gateway.settle()
    assert len(tickets(app)) == 1
    assert messages_of(app, ticket)[-1].author_email == "other.person@elsewhere.test"


def test_subject_number_joins_only_from_the_customer(gateway: GatewayThread, app: App) -> None:
    gateway.send(mail())
    gateway.settle()
    [ticket] = tickets(app)
    subject = f"Re: [{ticket.number}] My printer is on fire"
    gateway.send(mail(subject=subject, body="It is out now."))
    gateway.send(mail(sender="mallory@stranger.test", subject=subject, body="Give me the data."))
    gateway.settle()
    first, second = tickets(app)
    assert [m.body for m in messages_of(app, first)][-1] == "It is out now."
    assert second.customer_id != first.customer_id
    assert second.subject == subject


def test_unknown_recipient_is_refused_at_rcpt(gateway: GatewayThread) -> None:
    with gateway.smtp() as client, pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        client.sendmail("a@customer.test", ["sales@example.com"], b"Subject: x\r\n\r\nhi\r\n")
    code, text = refused.value.recipients["sales@example.com"]
    assert code == 550 and text.startswith(b"5.1.1")


def test_forged_token_is_refused_at_rcpt(gateway: GatewayThread, app: App) -> None:
    gateway.send(mail())
    gateway.settle()
    [ticket] = tickets(app)
    good = token_address(app, ticket, tokens.Party.CUSTOMER, ticket.customer_id)
    local, _, domain = good.partition("@")
    forged = local[:-1] + ("a" if local[-1] != "a" else "b") + "@" + domain
    with gateway.smtp() as client, pytest.raises(smtplib.SMTPRecipientsRefused):
        client.sendmail("a@customer.test", [forged], b"Subject: x\r\n\r\nhi\r\n")


def test_oversize_mail_gets_552_and_size_is_announced(app: App, settings: object) -> None:
    small = App(
        app.settings.model_copy(update={"max_message_bytes": 10_000}),
        app.engine,
        app.sessions,
        app.secret,
    )
    running = GatewayThread(small)
    running.start()
    try:
        with running.smtp() as client:
            client.ehlo()
            assert client.esmtp_features["size"] == "10000"
            big = mail(body="x" * 20_000).as_bytes()
            with pytest.raises(smtplib.SMTPResponseException) as refused:
                client.sendmail("alice@customer.test", ["support@example.com"], big)
            assert refused.value.smtp_code == 552
    finally:
        running.stop()
    assert tickets(app) == []


def test_same_message_id_twice_gives_one_ticket(gateway: GatewayThread, app: App) -> None:
    message = mail(message_id="<dup-1@customer.test>")
    with gateway.smtp() as client:
        client.send_message(message)
        reply = client.docmd("RSET")
        assert reply[0] == 250
        client.send_message(message)
    gateway.settle()
    assert len(tickets(app)) == 1
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboundMail)) == 1


def test_one_mail_to_two_support_addresses_gives_one_ticket(
    gateway: GatewayThread, app: App
) -> None:
    message = mail(to="support@example.com, help@example.com")
    gateway.send(message, to=["support@example.com", "help@example.com"])
    gateway.send(message, to=["help@example.com"])  # a relay that split the recipients
    gateway.settle()
    assert len(tickets(app)) == 1


def test_reply_all_from_a_cc_joins_as_participant(gateway: GatewayThread, app: App) -> None:
    first = mail(cc="Bob Colleague <bob@customer.test>", message_id="<first@customer.test>")
    gateway.send(first)
    gateway.settle()
    [ticket] = tickets(app)
    reply = mail(
        sender="Bob Colleague <bob@customer.test>",
        to="alice@customer.test, support@example.com",
        subject="Re: My printer is on fire",
        body="Same here on the second floor.",
        in_reply_to="<first@customer.test>",
    )
    gateway.send(reply)
    gateway.settle()
    assert len(tickets(app)) == 1
    last = messages_of(app, ticket)[-1]
    assert (last.author_email, last.body) == ("bob@customer.test", "Same here on the second floor.")
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(TicketParticipant)) == 1


def test_reference_to_a_customer_mail_from_a_stranger_opens_a_new_ticket(
    gateway: GatewayThread, app: App
) -> None:
    gateway.send(mail(message_id="<first@customer.test>"))
    gateway.send(
        mail(sender="eve@stranger.test", subject="Re: x", in_reply_to="<first@customer.test>")
    )
    gateway.settle()
    assert len(tickets(app)) == 2


def test_reply_to_resolved_ticket_reopens_inside_window_only(
    gateway: GatewayThread, app: App
) -> None:
    gateway.send(mail())
    gateway.settle()
    [ticket] = tickets(app)
    address = token_address(app, ticket, tokens.Party.CUSTOMER, ticket.customer_id)
    set_status(app, ticket, Status.RESOLVED, resolved_days_ago=1)
    gateway.send(mail(to=address, subject="Re: x", body="It broke again."))
    gateway.settle()
    assert tickets(app)[0].status is Status.IN_PROGRESS
    set_status(app, ticket, Status.RESOLVED, resolved_days_ago=30)
    gateway.send(mail(to=address, subject="Re: x", body="And again, a month later."))
    gateway.settle()
    first, linked = tickets(app)
    assert first.status is Status.RESOLVED
    assert linked.linked_ticket_id == first.id and linked.status is Status.OPEN


def test_mail_to_a_closed_ticket_opens_a_linked_ticket(gateway: GatewayThread, app: App) -> None:
    gateway.send(mail())
    gateway.settle()
    [ticket] = tickets(app)
    set_status(app, ticket, Status.CLOSED)
    gateway.send(mail(subject=f"Re: [{ticket.number}] My printer", body="New problem."))
    gateway.settle()
    first, linked = tickets(app)
    assert first.status is Status.CLOSED and linked.linked_ticket_id == first.id


def test_blocked_sender_gets_550_with_the_reason(gateway: GatewayThread, app: App) -> None:
    with app.sessions.begin() as session:
        session.add(
            Customer(
                email="spammer@bad.test",
                name="",
                created_at=datetime.now(UTC),
                blocked=True,
                block_reason="sent 500 spam mails",
            )
        )
    gateway._gateway.blocks.refresh(app.engine)
    with gateway.smtp() as client, pytest.raises(smtplib.SMTPSenderRefused) as refused:
        client.sendmail("spammer@bad.test", ["support@example.com"], b"Subject: x\r\n\r\nhi\r\n")
    assert refused.value.smtp_code == 550 and b"sent 500 spam mails" in refused.value.smtp_error
    with gateway.smtp() as client, pytest.raises(smtplib.SMTPDataError) as data_refused:
        client.sendmail(
            "innocent@relay.test",
            ["support@example.com"],
            mail(sender="spammer@bad.test").as_bytes(),
        )
    assert data_refused.value.smtp_code == 550
    assert tickets(app) == []


def test_auto_reply_to_nothing_creates_no_ticket(gateway: GatewayThread, app: App) -> None:
    gateway.send(mail(subject="Out of office", Auto_Submitted="auto-replied"))
    gateway.settle()
    assert tickets(app) == []
    with app.sessions() as session:
        stored = session.scalars(select(InboundMail)).one()
    assert (stored.status, stored.outcome) == (MailStatus.PROCESSED, "ignored")


def test_empty_mail_is_rejected_with_a_reason(gateway: GatewayThread, app: App) -> None:
    gateway.send(mail(subject="", body=""))
    gateway.settle()
    assert tickets(app) == []
    with app.sessions() as session:
        stored = session.scalars(select(InboundMail)).one()
    assert stored.outcome == "rejected" and "subject is empty" in stored.reason


def test_storage_failure_answers_451(tmp_path: object, app: App) -> None:
    from pathlib import Path

    from helpdesk.app.runtime import build

    assert isinstance(tmp_path, Path)
    broken = build(
        app.settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'none.db'}"})
    )
    running = GatewayThread(broken)
    running.start()
    spooled = spool.spool_for(broken.engine)
    assert spooled is not None
    spool.spooled_mails.drop(spooled)  # the disk the edge writes to is gone
    try:
        with running.smtp() as client, pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail("alice@customer.test", ["support@example.com"], mail().as_bytes())
        assert refused.value.smtp_code == 451
        assert b"Traceback" not in refused.value.smtp_error
    finally:
        running.stop()
        broken.close()


def test_bounce_marks_only_failed_recipients(app: App) -> None:
    from helpdesk.app.pipeline.automated import failed_recipients

    report = (
        "Reporting-MTA: dns; mx.test\n\n"
        "Final-Recipient: rfc822; gone@customer.test\nAction: failed\nStatus: 5.1.1\n\n"
        "Final-Recipient: rfc822; slow@customer.test\nAction: delayed\nStatus: 4.4.7"
    )
    assert failed_recipients(report, {}) == ["gone@customer.test"]


def test_a_huge_subject_is_cut_for_the_ticket(gateway: GatewayThread, app: App) -> None:
    gateway.send(mail(subject="Help " * 2000))
    gateway.settle()
    [ticket] = tickets(app)
    assert len(ticket.subject) == 250 and ticket.subject.endswith("…")
