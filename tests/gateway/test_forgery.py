"""Invariant 5: no forged or altered token, and no forged sender, changes a ticket.

Each forgery is sent over SMTP next to a control (the genuine mail) that does change the ticket,
so a test that passes proves the forgery, not a broken setup, was refused.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select, update

from gateway.serve import Gateway
from helpdesk.app.runtime import App
from helpdesk.domain.vocabulary import MailStatus, Priority, Status
from storage.models import (
    Agent,
    Customer,
    InboundMail,
    Message,
    Outbox,
    Ticket,
    TicketParticipant,
)
from tests.desk import Desk
from tests.helpers import GatewayThread, mail
from tests.sink import Sink
from workers.transport import transport_for

CUSTOMER = "Cy Customer <cy@customer.test>"


@dataclass(frozen=True)
class Snapshot:
    status: Status
    priority: Priority
    assignee: int | None
    messages: int


def snapshot(app: App) -> Snapshot:
    with app.sessions() as session:
        ticket = session.scalars(select(Ticket).order_by(Ticket.id)).first()
        assert ticket is not None
        count = session.scalar(select(func.count()).select_from(Message))
        return Snapshot(ticket.status, ticket.priority, ticket.assignee_agent_id, count or 0)


@pytest.fixture
def desk(app: App, sink: Sink) -> Iterator[Desk]:
    running = Desk(app, sink).start()
    running.send(CUSTOMER, "support@example.com", "My order never arrived.", subject="Order")
    yield running
    running.stop()


def notices(app: App, agent: str) -> int:
    with app.sessions() as session:
        return (
            session.scalar(
                select(func.count()).where(
                    Outbox.template == "agent/rejected_notice", Outbox.recipient == agent
                )
            )
            or 0
        )


def assert_refused_at_rcpt(desk: Desk, address: str) -> None:
    with desk.gateway.smtp() as client, pytest.raises(smtplib.SMTPRecipientsRefused):
        client.sendmail("ann@us.test", [address], mail(sender="ann@us.test").as_bytes())


def test_control_the_genuine_mail_changes_the_ticket(desk: Desk, app: App) -> None:
    before = snapshot(app)
    desk.send("ann@us.test", desk.agent_token(desk.ticket(), "ann"), "#priority urgent")
    assert snapshot(app).priority is Priority.URGENT != before.priority


def test_spoofed_from_to_the_support_address(desk: Desk, app: App) -> None:
    before = snapshot(app)
    number = desk.ticket().number
    desk.send("ann@us.test", "support@example.com", "#status closed", subject=f"Re: [{number}]")
    assert snapshot(app) == before
    assert notices(app, "ann@us.test") == 1


def blocked(app: App, email: str) -> bool:
    with app.sessions() as session:
        customer = session.scalar(select(Customer).where(Customer.email == email))
        return customer is not None and customer.blocked


@pytest.mark.parametrize("block", ["#block permanent spam", "#unblock"])
def test_a_forged_supervisor_at_the_plain_address_blocks_nobody(
    desk: Desk, app: App, block: str
) -> None:
    """Only ``From:`` vouches for a mail to the plain address: it may open a ticket, but a block
    reaches the customer's other tickets, so it needs a reply address (issue 11, item 1)."""
    body = f"#customer cy@customer.test\n{block}\nGoodbye."
    desk.send("sue@us.test", "support@example.com", body, subject="Spam")
    assert not blocked(app, "cy@customer.test") and snapshot(app).status is Status.OPEN
    [answer] = [m for m in desk.inbox("sue@us.test") if "Spam" in str(m.message["Subject"])]
    assert "goes in a reply to a mail about one of the customer's tickets" in answer.text()
    desk.send("sue@us.test", desk.agent_token(desk.ticket(), "sue"), "#block permanent spam")
    assert blocked(app, "cy@customer.test")  # the control: with a token, it blocks


def unverified_messages(app: App) -> list[str]:
    with app.sessions() as session:
        return list(session.scalars(select(Message.author_email).where(~Message.verified)))


@pytest.mark.parametrize("route", ["subject", "token"])
def test_a_forged_or_stranger_customer_mail_adds_text_but_changes_nothing(
    desk: Desk, app: App, route: str
) -> None:
    """Issue 11, item 4: ``From:`` alone, or someone else's reply address, proves nothing."""
    ticket = desk.ticket()
    sender, to = CUSTOMER, "support@example.com"  # the customer's own From:, forged
    if route == "token":  # a stranger who got hold of the customer's reply address
        sender, to = "mallory@else.test", str(desk.inbox("cy@customer.test")[0].message["Reply-To"])
    before = snapshot(app)
    desk.send(
        sender,
        to,
        "#close\nPlease also send everything to my colleague.",
        subject=f"Re: [{ticket.number}] Order",
        cc="spy@else.test",
    )
    after = snapshot(app)
    assert (after.status, after.messages) == (before.status, before.messages + 1)
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(TicketParticipant)) == 0
    assert len(unverified_messages(app)) == 1
    [alert] = [m for m in desk.inbox("ann@us.test") if "colleague" in m.text()]
    assert "UNVERIFIED SENDER" in alert.text()
    assert desk.inbox("spy@else.test") == []


def test_control_the_customers_own_reply_address_closes_and_adds_participants(
    desk: Desk, app: App
) -> None:
    reply = str(desk.inbox("cy@customer.test")[0].message["Reply-To"])
    desk.send(CUSTOMER, reply, "#close\nSolved, thanks.", cc="colleague@customer.test")
    assert snapshot(app).status is Status.RESOLVED and unverified_messages(app) == []


def test_a_customers_reply_all_to_an_agents_address_is_their_reply(desk: Desk, app: App) -> None:
    """Issue 11, item 5: not dropped, and nobody is told of a forgery that was not one."""
    before = snapshot(app)
    desk.send(
        CUSTOMER, desk.agent_token(desk.ticket(), "ann"), "Adding: the parcel number is 4711."
    )
    assert snapshot(app).messages == before.messages + 1
    assert notices(app, "ann@us.test") == 0
    assert unverified_messages(app) == ["cy@customer.test"]  # the address was not issued to Cy


def test_a_stranger_at_an_agents_address_is_quarantined_with_the_reason(
    desk: Desk, app: App
) -> None:
    before = snapshot(app)
    desk.send("mallory@else.test", desk.agent_token(desk.ticket(), "ann"), "#close\nHi")
    assert snapshot(app) == before and notices(app, "ann@us.test") == 0
    with app.sessions() as session:
        stored = session.scalars(select(InboundMail).order_by(InboundMail.id.desc())).first()
        assert stored is not None and stored.status is MailStatus.QUARANTINED
        assert "mallory@else.test wrote to an agent's reply address" in stored.reason


def test_an_agent_cannot_reply_on_a_ticket_they_may_not_see(desk: Desk, app: App) -> None:
    """Issue 11, item 6: the visibility rule holds for a plain reply as for a command."""
    desk.send("sue@us.test", desk.agent_token(desk.ticket(), "sue"), "#assign ben")
    before = snapshot(app)
    desk.send("ann@us.test", desk.agent_token(desk.ticket(), "ann"), "Hello Cy, Ann here.")
    assert snapshot(app) == before
    assert not any("Ann here" in m.text() for m in desk.inbox("cy@customer.test"))
    assert "assigned to someone else: nothing was posted" in desk.inbox("ann@us.test")[-1].text()


def test_token_issued_to_another_agent(desk: Desk, app: App) -> None:
    before = snapshot(app)
    desk.send("ann@us.test", desk.agent_token(desk.ticket(), "ben"), "#priority urgent")
    assert snapshot(app) == before
    assert notices(app, "ann@us.test") == 1


def test_token_altered_to_another_ticket_or_party(desk: Desk) -> None:
    good = desk.agent_token(desk.ticket(), "ann")
    code = desk.ticket().number.removeprefix("TKT-").lower()
    assert_refused_at_rcpt(desk, good.replace(code, "zzzzzz"))
    assert_refused_at_rcpt(desk, good.replace(f"-a{desk.ids['ann']}-", f"-a{desk.ids['sue']}-"))


def test_tampered_signature(desk: Desk) -> None:
    good = desk.agent_token(desk.ticket(), "ann")
    local, _, domain = good.partition("@")
    assert_refused_at_rcpt(desk, f"{local[:-3]}aaa@{domain}")


def test_token_signed_with_a_rotated_secret(desk: Desk, app: App, sink: Sink) -> None:
    old = desk.agent_token(desk.ticket(), "ann")
    rotated = App(app.settings, app.engine, app.sessions, b"the new secret")
    running = GatewayThread(rotated, Gateway(rotated, None, transport_for(sink.url)))
    running.start()
    try:
        with running.smtp() as client, pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail("ann@us.test", [old], mail(sender="ann@us.test").as_bytes())
    finally:
        running.stop()


def test_a_rotated_out_secret_still_verifies_when_listed_as_previous(
    desk: Desk, app: App, sink: Sink
) -> None:
    """Issue 11, item 13: rotating the key must not bounce every reply address handed out."""
    old = desk.agent_token(desk.ticket(), "ann")
    new = b"the new secret, at least thirty-two bytes long"
    rotated = App(app.settings, app.engine, app.sessions, new, previous_secrets=(app.secret,))
    running = GatewayThread(rotated, Gateway(rotated, None, transport_for(sink.url)))
    running.start()
    try:
        with running.smtp() as client:
            body = mail(sender="ann@us.test", to=old, body="#priority urgent").as_bytes()
            client.sendmail("ann@us.test", [old], body)
        running.settle()
    finally:
        running.stop()
    assert snapshot(app).priority is Priority.URGENT


def test_customer_replaying_an_agent_token(desk: Desk, app: App) -> None:
    before = snapshot(app)
    desk.send(CUSTOMER, desk.agent_token(desk.ticket(), "ann"), "#status closed\n#priority low")
    after = snapshot(app)
    assert (after.status, after.priority) == (before.status, before.priority)
    assert unverified_messages(app) == ["cy@customer.test"]  # kept as text, changing nothing


def test_commands_in_a_quoted_part_are_not_commands(desk: Desk, app: App) -> None:
    body = "Thanks, see below.\n\nOn Monday Sue wrote:\n> #status closed\n> #priority urgent\n"
    desk.send("ann@us.test", desk.agent_token(desk.ticket(), "ann"), body)
    after = snapshot(app)
    assert after.status is not Status.CLOSED and after.priority is Priority.MEDIUM


def test_commands_below_the_body_are_not_commands(desk: Desk, app: App) -> None:
    body = "We are looking into it.\n\n#status closed\n#priority urgent\n"
    desk.send("ann@us.test", desk.agent_token(desk.ticket(), "ann"), body)
    after = snapshot(app)
    assert after.status is Status.AWAITING_CUSTOMER  # the reply itself, nothing more
    assert after.priority is Priority.MEDIUM


def test_display_name_pretending_to_be_an_agent(desk: Desk, app: App) -> None:
    before = snapshot(app)
    desk.send(
        '"ann@us.test" <mallory@evil.test>',
        desk.agent_token(desk.ticket(), "ann"),
        "#status closed",
    )
    assert snapshot(app) == before


def test_deactivated_agent(desk: Desk, app: App) -> None:
    with app.sessions.begin() as session:
        session.execute(update(Agent).where(Agent.email == "ann@us.test").values(active=False))
    before = snapshot(app)
    desk.send("ann@us.test", desk.agent_token(desk.ticket(), "ann"), "#priority urgent")
    assert snapshot(app) == before


def test_html_only_commands_are_not_read(desk: Desk, app: App) -> None:
    message = EmailMessage()
    message["From"], message["To"] = "ann@us.test", desk.agent_token(desk.ticket(), "ann")
    message["Subject"] = "Re: order"
    message.set_content("<p>#status closed</p><p>#priority urgent</p>", subtype="html")
    before = snapshot(app)
    desk.gateway.send(message)
    desk.settle()
    assert snapshot(app) == before
