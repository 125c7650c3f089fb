"""Mail loops with a real auto-responder that marks nothing, and auto-replies on a ticket.

The responder is an SMTP server on 127.0.0.1 standing in for the customer's mail system: every
mail it receives for its address is answered at once with a new mail, "Thanks for your mail",
with no Auto-Submitted, Precedence or X-Autoreply header, no In-Reply-To, from an ordinary
address, to the gateway's SMTP port. What stops the loop is the gateway's own doing.
"""

from __future__ import annotations

import asyncio
import smtplib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from gateway.serve import Gateway
from helpdesk.app.pipeline.context import Outcome
from helpdesk.app.runtime import App
from helpdesk.domain import tokens
from helpdesk.domain.vocabulary import MessageKind, OutboxStatus, Status
from storage.models import InboundMail, Message, Outbox, Ticket
from tests.desk import wait_for
from tests.helpers import GatewayThread, mail
from tests.sink import Received, free_port
from workers.transport import transport_for

BOT = "office@customer.test"
# where the responder sends its answer, and how many mails it then gets from us: at the signed
# reply address its answer is a reply on the ticket, which nobody acknowledges; at the plain
# support address it opens a second ticket, whose acknowledgement it answers with the same text,
# a duplicate that nobody answers
ROUTES = {"from": 2, "reply-to": 1, "return-path": 1}


class Responder:
    """An auto-responder on a real SMTP socket: answers each mail to ``BOT`` by ``route``."""

    def __init__(self, route: str) -> None:
        self.route = route
        self.gateway_port = 0
        self.received: list[Received] = []
        self.answered = 0
        self.busy = 0
        self._lock = threading.Lock()
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> Responder:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        got = Received(envelope.mail_from, tuple(envelope.rcpt_tos), envelope.original_content)
        with self._lock:
            self.received.append(got)
            self.busy += 1
        asyncio.get_running_loop().run_in_executor(None, self._answer, got)
        return "250 2.0.0 OK: queued"

    def _answer(self, got: Received) -> None:
        try:
            incoming = message_from_bytes(got.raw, policy=policy.default)
            target = {
                "from": parseaddr(str(incoming["From"]))[1],
                "reply-to": parseaddr(str(incoming["Reply-To"]))[1],
                "return-path": got.envelope_from,
            }[self.route]
            answer = EmailMessage()
            answer["From"] = f"Front Office <{BOT}>"
            answer["To"] = target
            answer["Subject"] = "Thanks for your mail"
            answer["Message-ID"] = make_msgid(domain="customer.test")
            answer.set_content("Thanks for your mail")
            with smtplib.SMTP("127.0.0.1", self.gateway_port, timeout=30) as client:
                client.send_message(answer, from_addr=BOT, to_addrs=[target])
            with self._lock:
                self.answered += 1
        finally:
            with self._lock:
                self.busy -= 1

    def from_us(self) -> list[Received]:
        return [r for r in self.received if BOT in r.recipients]


@pytest.fixture(params=list(ROUTES))
def responder(request: pytest.FixtureRequest) -> Iterator[Responder]:
    running = Responder(request.param).start()
    yield running
    running.stop()


def pending(app: App) -> int:
    with app.sessions() as session:
        query = select(func.count()).where(Outbox.status == OutboxStatus.PENDING)
        return session.scalar(query) or 0


def until_quiet(gateway: GatewayThread, responder: Responder, app: App) -> None:
    """Until nothing moves: every mail processed, delivered, and answered by the responder."""
    seen = (-1, -1)
    for _ in range(60):
        gateway.settle()
        wait_for(lambda: pending(app) == 0 and responder.busy == 0, what="the loop to settle")
        now = (len(responder.received), responder.answered)
        if now == seen:
            return
        seen = now
        time.sleep(0.5)
    raise AssertionError(f"still looping after 60 rounds: {seen}")


def test_an_unmarked_auto_responder_gets_at_most_two_mails(app: App, responder: Responder) -> None:
    gateway = GatewayThread(app, Gateway(app, None, transport_for(responder.url)))
    gateway.start()
    responder.gateway_port = gateway.port
    try:
        gateway.send(mail(f"Front Office <{BOT}>", subject="Order 1234", body="Where is it?"))
        until_quiet(gateway, responder, app)
    finally:
        gateway.stop()
    ours = responder.from_us()
    assert len(ours) == ROUTES[responder.route], [str(r.message["Subject"]) for r in ours]
    assert responder.answered == len(ours)  # it answered every one of them
    with app.sessions() as session:
        stored = session.scalar(select(func.count()).select_from(InboundMail))
        tickets = session.scalar(select(func.count()).select_from(Ticket))
    assert stored == 1 + responder.answered  # every answer of the responder was kept
    assert tickets == ROUTES[responder.route]


def test_an_auto_reply_is_noted_on_its_ticket_without_reopening_it(
    app: App, gateway: GatewayThread
) -> None:
    """RFC 3834's marker on a reply to a resolved ticket's signed address: a system note."""
    gateway.send(mail(BOT, subject="Order 1234", body="Where is it?"))
    gateway.settle()
    with app.sessions.begin() as session:
        ticket = session.scalars(select(Ticket)).one()
        ticket.status, ticket.resolved_at = Status.RESOLVED, datetime.now(UTC)
        token = tokens.Token(ticket.number, tokens.Party.CUSTOMER, ticket.customer_id)
    reply_to = tokens.reply_address(app.secret, "support@example.com", token)
    away = mail(BOT, to=reply_to, subject="Automatic reply: Order 1234", body="I am away.")
    away["Auto-Submitted"] = "auto-replied"
    gateway.send(away, to=[reply_to])
    gateway.settle()
    with app.sessions() as session:
        ticket = session.scalars(select(Ticket)).one()
        last = session.scalars(select(InboundMail).order_by(InboundMail.id.desc())).first()
        notes = session.scalars(select(Message.body).where(Message.kind == MessageKind.SYSTEM))
        noted = [n for n in notes if n.startswith(f"Automatic reply from {BOT}")]
        answers = session.scalar(select(func.count()).where(Outbox.recipient == BOT))
    assert ticket.status is Status.RESOLVED
    assert last is not None and last.outcome == Outcome.AUTO_REPLY_NOTED.value
    assert len(noted) == 1
    assert answers == 1  # the acknowledgement of the first mail only
