"""Abuse of the gateway, tried over SMTP as an attacker would (issue 11): nothing is amplified."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import ColumnElement, func, select

from helpdesk.app.runtime import App
from storage.models import Customer, Outbox, Ticket, TicketParticipant
from tests.desk import Desk
from tests.helpers import GatewayThread, mail
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
    message = mail("cy@customer.test", body="Please help.", subject="Crowd", cc=crowd)
    desk.gateway.send(message, to=["support@example.com"])  # the crowd is only in the header
    desk.settle()
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


def dsn(failed: str, quoted_id: str = "") -> bytes:
    """A delivery status notification, as an MTA writes one (RFC 3464)."""
    quoted = f"Message-ID: {quoted_id}\r\n" if quoted_id else ""
    return (
        "From: Mail Delivery System <mailer-daemon@mx.else.test>\r\n"
        "To: support@example.com\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.else.test\r\n\r\n"
        f"Final-Recipient: rfc822; {failed}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: support@example.com\r\nTo: {failed}\r\n{quoted}Subject: Re: help\r\n"
        "--B--\r\n"
    ).encode()


def bouncing(app: App, email: str) -> bool:
    with app.sessions() as session:
        found = session.scalar(select(Customer).where(Customer.email == email))
        return found is not None and found.bouncing


def test_a_fake_bounce_marks_nobody(desk: Desk, app: App) -> None:
    """Item 10: anyone can write a bounce to the support address naming any customer."""
    desk.send("cy@customer.test", "support@example.com", "My order is late.", subject="Late")
    desk.gateway.send(dsn("cy@customer.test"), to=["support@example.com"], mail_from="")
    desk.settle()
    assert not bouncing(app, "cy@customer.test")


@pytest.mark.parametrize("route", ["signed address", "quoted message-id"])
def test_a_bounce_of_our_mail_counts_until_the_customer_writes_again(
    desk: Desk, app: App, route: str
) -> None:
    desk.send("cy@customer.test", "support@example.com", "My order is late.", subject="Late")
    [ack] = desk.inbox("cy@customer.test")
    if route == "signed address":  # bounces go back to the envelope sender of our mail
        desk.gateway.send(dsn("cy@customer.test"), to=[ack.envelope_from], mail_from="")
    else:
        quoted = str(ack.message["Message-ID"])
        desk.gateway.send(dsn("cy@customer.test", quoted), to=["support@example.com"], mail_from="")
    desk.settle()
    assert bouncing(app, "cy@customer.test")
    desk.send("cy@customer.test", str(ack.message["Reply-To"]), "Any news?")
    assert not bouncing(app, "cy@customer.test")


@pytest.fixture
def guarded(app: App) -> Iterator[GatewayThread]:
    limits = {"smtp_sessions_per_client": 3, "smtp_max_sessions": 5, "smtp_idle_seconds": 1.0}
    strict = App(app.settings.model_copy(update=limits), app.engine, app.sessions, app.secret)
    running = GatewayThread(strict)
    running.start()
    yield running
    running.stop()


def client(gateway: GatewayThread, source: str = "127.0.0.1") -> smtplib.SMTP:
    return smtplib.SMTP("127.0.0.1", gateway.port, timeout=10, source_address=(source, 0))


def test_one_client_cannot_hold_every_session(guarded: GatewayThread) -> None:
    """Item 8: sessions are capped per client address (421 4.7.0), and others still get in."""
    held = [client(guarded) for _ in range(3)]
    try:
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            client(guarded)
        assert refused.value.smtp_code == 421 and b"from your address" in refused.value.smtp_error
        with client(guarded, "127.0.0.2") as other:
            other.sendmail("dee@customer.test", ["support@example.com"], mail().as_bytes())
        more = [client(guarded, "127.0.0.3"), client(guarded, "127.0.0.3")]
        with pytest.raises(smtplib.SMTPConnectError, match="Too many connections"):
            client(guarded, "127.0.0.4")  # five are open in all
        for each in more:
            each.close()
    finally:
        for each in held:
            each.close()
    time.sleep(0.2)
    with client(guarded) as again:  # closed sessions are counted out
        assert again.noop()[0] == 250


def test_noop_cannot_keep_a_session_forever(guarded: GatewayThread) -> None:
    with client(guarded) as held:
        for _ in range(10):
            assert held.noop()[0] == 250
        assert held.noop()[0] == 421
    with client(guarded) as idle:
        time.sleep(1.5)  # smtp_idle_seconds = 1
        with pytest.raises(smtplib.SMTPServerDisconnected):
            idle.noop()


def test_recipients_per_mail_are_capped(gateway: GatewayThread) -> None:
    with gateway.smtp() as session:
        session.ehlo()
        session.mail("dee@customer.test")
        codes = [session.rcpt("support@example.com")[0] for _ in range(101)]
    assert codes[:100] == [250] * 100 and codes[100] == 452
