"""Notifications end to end: SMTP in, Redis and Dramatiq workers, a real aiosmtpd sink out."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from dramatiq import Worker
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import select

from gateway.runners import RemoteWorkers
from gateway.serve import Gateway
from helpdesk.app.runtime import App
from helpdesk.domain import tokens
from helpdesk.domain.vocabulary import OutboxStatus, Role
from storage.models import Agent, Customer, InboundMail, Outbox, Ticket
from tests.helpers import GatewayThread, mail, tickets, wait_processed
from tests.sink import Sink
from workers.processor import drain
from workers.transport import transport_for


def fast(app: App, **changes: object) -> App:
    settings = app.settings.model_copy(
        update={
            "reconcile_seconds": 0.5,
            "delivery_backoff_seconds": 0.2,
            "delivery_lease_seconds": 5.0,
            **changes,
        }
    )
    return App(settings, app.engine, app.sessions, app.secret)


def add_agent(app: App, email: str = "sam@us.test", name: str = "Sam Agent") -> int:
    with app.sessions.begin() as session:
        agent = Agent(email=email, name=name, role=Role.AGENT, created_at=datetime.now(UTC))
        session.add(agent)
        session.flush()
        return agent.id


def wait_for(predicate: object, timeout: float = 30.0, what: str = "condition") -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def outbox(app: App) -> list[Outbox]:
    with app.sessions() as session:
        return list(session.scalars(select(Outbox).order_by(Outbox.id)))


class RedisGateway:
    """The production shape in one test: gateway and worker share Redis, mail goes to a sink."""

    def __init__(self, app: App, broker: RedisBroker, sink: Sink) -> None:
        self.transport = transport_for(sink.url)
        self.inner = Gateway(app, broker, self.transport)
        self.gateway = GatewayThread(app, self.inner)
        self.broker = broker
        self.worker: Worker | None = None

    def start(self) -> RedisGateway:
        self.gateway.start()
        self.start_worker()
        return self

    def start_worker(self) -> None:
        self.worker = Worker(self.broker, worker_threads=4, worker_timeout=100)
        self.worker.start()

    def stop_worker(self) -> None:
        assert self.worker is not None
        self.worker.stop()
        self.worker = None

    def stop(self) -> None:
        if self.worker is not None:
            self.stop_worker()
        self.gateway.stop()


@pytest.fixture
def production(app: App, redis_broker: RedisBroker, sink: Sink) -> Iterator[RedisGateway]:
    running = RedisGateway(fast(app), redis_broker, sink).start()
    yield running
    running.stop()


def test_new_ticket_acknowledged_and_agents_alerted_through_redis(
    production: RedisGateway, app: App, sink: Sink
) -> None:
    add_agent(app)
    production.gateway.send(
        mail(sender="Alice <alice@customer.test>", message_id="<first@customer.test>")
    )
    wait_for(lambda: len(sink.received) == 2, what="ack and alert")
    [ticket] = tickets(app)
    [ack] = sink.to("alice@customer.test")
    [alert] = sink.to("sam@us.test")
    header = ack.message
    assert header["Subject"] == f"[{ticket.number}] My printer is on fire"
    assert header["Auto-Submitted"] == "auto-replied"
    assert header["In-Reply-To"] == "<first@customer.test>"
    assert "<first@customer.test>" in header["References"]
    rows = {r.recipient: r for r in outbox(app)}
    assert header["Message-ID"] == rows["alice@customer.test"].message_id
    base, tag = tokens.split_plus(str(header["Reply-To"]))
    token = tokens.verify(app.secret, tag)
    assert base == "support@example.com" and token is not None
    assert (token.ticket_number, token.party) == (ticket.number, tokens.Party.CUSTOMER)
    assert ack.envelope_from == str(header["Reply-To"])  # bounces come back to the ticket
    assert ticket.number in ack.text() and "received your request" in ack.text()
    assert alert.message["Auto-Submitted"] == "auto-generated"
    assert "the printer in room 4 is on fire" in alert.text()
    agent_token = tokens.verify(app.secret, tokens.split_plus(str(alert.message["Reply-To"]))[1])
    assert agent_token is not None and agent_token.party is tokens.Party.AGENT

    # The customer answers the acknowledgement: the reply lands on the same ticket.
    production.gateway.send(
        mail(to=str(header["Reply-To"]), subject=f"Re: {header['Subject']}", body="More info.")
    )
    production.gateway.settle()
    assert len(tickets(app)) == 1
    wait_for(lambda: len(sink.to("sam@us.test")) == 2, what="customer reply alert")
    assert "More info." in sink.to("sam@us.test")[-1].text()
    wait_for(lambda: all(r.status is OutboxStatus.SENT for r in outbox(app)), what="rows marked")


def test_broker_wipe_and_worker_restart_lose_and_repeat_nothing(
    production: RedisGateway, app: App, sink: Sink, redis_broker: RedisBroker
) -> None:
    add_agent(app)
    production.stop_worker()  # let the 200 notifications pile up in Redis first
    for i in range(100):
        production.gateway.send(mail(sender=f"c{i}@customer.test", subject=f"Wipe test {i}"))
    assert isinstance(production.inner.workers, RemoteWorkers)
    drain(app, production.inner.workers.tasks.dispatch)
    assert len(outbox(app)) == 200
    production.start_worker()
    wait_for(lambda: len(sink.received) >= 40, what="some deliveries")
    redis_broker.client.flushall()
    production.stop_worker()
    production.start_worker()
    wait_for(lambda: len(sink.received) >= 200, timeout=60, what="all 200 deliveries")
    time.sleep(1.0)  # anything sent twice would show up now
    counts = Counter(str(r.message["Message-ID"]) for r in sink.received)
    assert len(counts) == 200 and max(counts.values()) == 1
    wait_for(lambda: all(r.status is OutboxStatus.SENT for r in outbox(app)), what="rows marked")


def test_temporary_failure_is_retried_and_delivered_once(
    production: RedisGateway, app: App, sink: Sink
) -> None:
    sink.replies = ["451 4.3.0 try again later"]
    production.gateway.send(mail())
    wait_for(lambda: len(sink.received) == 1, what="delivery after a 451")
    time.sleep(0.5)
    assert len(sink.received) == 1 and sink.refused == 1
    [row] = outbox(app)
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 2)
    assert row.smtp_reply.startswith("250")


def test_permanent_failure_stops_and_marks_the_address(
    production: RedisGateway, app: App, sink: Sink
) -> None:
    sink.replies = ["550 5.1.1 no such user"] * 5
    production.gateway.send(mail())
    wait_for(lambda: outbox(app) and outbox(app)[0].status is OutboxStatus.FAILED, what="failure")
    time.sleep(1.0)
    assert sink.refused == 1 and sink.received == []
    [row] = outbox(app)
    assert row.attempts == 1 and row.last_error.startswith("550")
    with app.sessions() as session:
        customer = session.scalars(select(Customer)).one()
    assert customer.bouncing and "no such user" in customer.bounce_reason


def test_connection_refused_is_temporary(app: App, redis_broker: RedisBroker) -> None:
    dead = transport_for("smtp://127.0.0.1:9")
    quick = fast(app, delivery_attempts=2)
    running = GatewayThread(quick, Gateway(quick, redis_broker, dead))
    running.start()
    worker = Worker(redis_broker, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        running.send(mail())
        wait_for(lambda: outbox(app) and outbox(app)[0].attempts >= 2, what="two attempts")
        wait_for(lambda: outbox(app)[0].status is OutboxStatus.FAILED, what="giving up")
    finally:
        worker.stop()
        running.stop()
    assert "connection" in outbox(app)[0].last_error


def test_no_acknowledgement_to_automatic_mail_or_ourselves(
    gateway: GatewayThread, app: App
) -> None:
    add_agent(app)
    gateway.send(mail(subject="Weekly digest", List_Id="<news.list.test>"))
    gateway.send(mail(sender="support@example.com", subject="Loop?"))
    gateway.send(mail(sender="MAILER-DAEMON@relay.test", subject="Undelivered Mail"))
    gateway.settle()
    templates = Counter(r.template for r in outbox(app))
    assert templates["customer/ack"] == 0
    assert templates["agent/new_ticket"] == 1  # the list mail is a ticket, never acknowledged
    with app.sessions() as session:
        outcomes = dict(
            session.execute(select(InboundMail.from_address, InboundMail.outcome)).all()
        )
    assert outcomes["support@example.com"] == "ignored"
    assert outcomes["mailer-daemon@relay.test"] == "ignored"


def test_acknowledgements_are_rate_limited_per_sender(gateway: GatewayThread, app: App) -> None:
    for i in range(8):
        gateway.send(mail(subject=f"Question {i}", body=f"Different question number {i}."))
    gateway.settle()
    assert len(tickets(app)) == 8
    acks = [r for r in outbox(app) if r.template == "customer/ack"]
    assert len(acks) == app.settings.answer_limit_per_hour


def test_embedded_default_writes_the_mail_to_the_maildir(gateway: GatewayThread, app: App) -> None:
    gateway.send(mail())
    gateway.settle()
    wait_for(
        lambda: outbox(app) and outbox(app)[0].status is OutboxStatus.SENT, what="maildir delivery"
    )
    maildir = app.settings.var_dir / "outbox" / "new"
    [path] = list(maildir.iterdir())
    assert b"Auto-Submitted: auto-replied" in path.read_bytes()


def test_rejected_mail_gets_an_explanation(gateway: GatewayThread, app: App) -> None:
    gateway.send(mail(subject="", body=""))
    gateway.settle()
    [row] = outbox(app)
    assert row.template == "customer/rejected" and row.recipient == "alice@customer.test"
    assert "subject is empty" in row.context["reasons"]


def test_outbox_row_is_written_with_the_ticket(gateway: GatewayThread, app: App) -> None:
    """Invariant 3's other half: rows exist in the database before any broker hears of them."""
    gateway.send(mail())
    wait_processed(app)
    with app.sessions() as session:
        ticket = session.scalars(select(Ticket)).one()
        rows = session.scalars(select(Outbox).where(Outbox.ticket_id == ticket.id)).all()
    assert [r.template for r in rows] == ["customer/ack"]
