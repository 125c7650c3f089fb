"""International addresses (RFC 6531): the listener offers SMTPUTF8, and a customer whose
address is not ASCII is taken in, stored, threaded and answered, never refused."""

from __future__ import annotations

from sqlalchemy import select

from helpdesk.app.runtime import App
from storage.models import Customer, Ticket
from tests.desk import Desk
from tests.sink import Sink

SENDER = "ünï@exämple.de"
MAIL = (
    f"From: Ünï Müller <{SENDER}>\r\n"
    "To: support@example.com\r\n"
    "Subject: Grüße, der Drucker\r\n"
    "Message-ID: <drucker-1@exämple.de>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Mein Drucker druckt seit gestern nur noch leere Seiten.\r\n"
).encode()


def test_an_international_sender_is_taken_in_and_answered(app: App, sink: Sink) -> None:
    with Desk(app, sink) as desk:
        with desk.gateway.smtp() as client:
            client.ehlo("client.example.de")
            assert client.has_extn("smtputf8")
            refused = client.sendmail(
                SENDER, ["support@example.com"], MAIL, mail_options=["SMTPUTF8", "BODY=8BITMIME"]
            )
            assert refused == {}
        desk.settle()
        with app.sessions() as session:
            ticket = session.scalars(select(Ticket)).one()
            assert ticket.subject == "Grüße, der Drucker"
            assert session.scalars(select(Customer.email)).one() == SENDER
        [ack] = desk.inbox(SENDER)
        assert ack.recipients == (SENDER,)
        assert SENDER in str(ack.message["To"]) and ticket.number in str(ack.message["Subject"])

        reply = MAIL.replace(b"drucker-1", b"drucker-2").replace(
            b"Subject: Gr\xc3\xbc\xc3\x9fe, der Drucker",
            f"Subject: Re: [{ticket.number}] Grüße, der Drucker".encode(),
        )
        with desk.gateway.smtp() as client:
            client.sendmail(
                SENDER,
                [str(ack.message["Reply-To"].addresses[0].addr_spec)],
                reply.replace(b"leere Seiten", b"immer noch leere Seiten"),
                mail_options=["SMTPUTF8"],
            )
        desk.settle()
        with app.sessions() as session:
            assert session.scalars(select(Ticket)).one().number == ticket.number  # threaded
