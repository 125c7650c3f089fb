"""Batched delivery: a job sends its row and the next due ones, each row once, each as its own."""

from __future__ import annotations

import queue
import random
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from dramatiq import Message
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import select, update

from helpdesk.app.runtime import App, build
from helpdesk.domain.vocabulary import OutboxStatus
from storage.models import Customer, Outbox
from tests.sink import Sink
from workers.actors import Tasks
from workers.delivery import Delivered, Deliverer
from workers.render import Renderer
from workers.transport import Transport, transport_for


def pending(app: App, count: int, template: str = "customer/ack") -> list[int]:
    """``count`` due rows, oldest first."""
    now = datetime.now(UTC)
    with app.sessions.begin() as session:
        rows = [
            Outbox(
                message_id=f"<{i}.batch-{template.replace('/', '-')}@example.com>",
                template=template,
                recipient=f"reader{i}@customer.test",
                audience="customer",
                context={"ticket": {"number": "TKT-AAAAAA", "subject": "Help"}, "party_id": i},
                next_attempt_at=now - timedelta(seconds=60 - i),
                created_at=now,
            )
            for i in range(count)
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def rows(app: App) -> dict[int, Outbox]:
    with app.sessions() as session:
        return {row.id: row for row in session.scalars(select(Outbox))}


def with_lease(app: App, seconds: float) -> App:
    settings = app.settings.model_copy(update={"delivery_lease_seconds": seconds})
    return App(settings, app.engine, app.sessions, app.secret)


def test_a_job_sends_its_row_first_then_the_oldest_due(app: App, sink: Sink) -> None:
    ids = pending(app, 6)
    deliverer = Deliverer(app, Renderer(), transport_for(sink.url), batch=3)
    first = deliverer.deliver(ids[5])
    assert [(r.outbox_id, r.state) for r in first] == [
        (ids[5], Delivered.SENT),
        (ids[0], Delivered.SENT),
        (ids[1], Delivered.SENT),
    ]
    assert [r.state for r in deliverer.deliver(ids[0])] == [Delivered.SKIPPED]  # its own job
    assert [r.outbox_id for r in deliverer.deliver(ids[2])] == [ids[2], ids[3], ids[4]]
    assert deliverer.deliver(ids[3])[0].state is Delivered.SKIPPED
    assert {r.message_id for r in rows(app).values()} == {
        str(m.message["Message-ID"]) for m in sink.received
    }
    assert all((r.status, r.attempts) == (OutboxStatus.SENT, 1) for r in rows(app).values())


def test_a_batch_takes_neither_rows_not_yet_due_nor_leased_ones(app: App, sink: Sink) -> None:
    ids = pending(app, 4)
    later, leased = datetime.now(UTC) + timedelta(minutes=5), datetime.now(UTC) + timedelta(hours=1)
    with app.sessions.begin() as session:
        session.execute(update(Outbox).where(Outbox.id == ids[1]).values(next_attempt_at=later))
        session.execute(update(Outbox).where(Outbox.id == ids[2]).values(lease_until=leased))
    deliverer = Deliverer(app, Renderer(), transport_for(sink.url), batch=8)
    assert [r.outbox_id for r in deliverer.deliver(ids[0])] == [ids[0], ids[3]]
    assert {r.status for i, r in rows(app).items() if i in ids[1:3]} == {OutboxStatus.PENDING}


class Distant:
    """A smarthost far away: every mail takes its time."""

    def __init__(self, url: str, seconds: float) -> None:
        self.inner = transport_for(url)
        self.seconds = seconds

    def send(self, envelope_from: str, recipient: str, data: bytes) -> str:
        time.sleep(self.seconds)
        return self.inner.send(envelope_from, recipient, data)


def test_with_a_slow_smarthost_each_row_waits_for_its_own_job(app: App, sink: Sink) -> None:
    ids = pending(app, 4)
    deliverer = Deliverer(app, Renderer(), Distant(sink.url, 0.25), batch=2)
    assert [r.outbox_id for r in deliverer.deliver(ids[0])] == ids[:2]  # the pace is not known
    assert [r.outbox_id for r in deliverer.deliver(ids[2])] == [ids[2]]
    assert rows(app)[ids[3]].lease_until is None


def test_concurrent_and_redelivered_jobs_send_each_row_exactly_once(app: App, sink: Sink) -> None:
    """Two worker processes (each its own engine) of four threads; every job comes twice."""
    ids = pending(app, 60)
    other = build(app.settings)
    deliverers = [
        Deliverer(each, Renderer(), transport_for(sink.url), batch=8) for each in (app, other)
    ]
    jobs: queue.Queue[int] = queue.Queue()
    for outbox_id in random.Random(7).sample(ids * 2, len(ids) * 2):
        jobs.put(outbox_id)
    errors: list[BaseException] = []

    def work(deliverer: Deliverer) -> None:
        while True:
            try:
                outbox_id = jobs.get_nowait()
            except queue.Empty:
                return
            try:
                deliverer.deliver(outbox_id)
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(deliverers[i % 2],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    other.close()
    assert errors == []
    counts = Counter(str(m.message["Message-ID"]) for m in sink.received)
    assert len(counts) == 60 and max(counts.values()) == 1
    assert all((r.status, r.attempts) == (OutboxStatus.SENT, 1) for r in rows(app).values())
    assert all(r.lease_until is None for r in rows(app).values())


def test_each_row_of_a_batch_has_its_own_outcome(app: App, sink: Sink) -> None:
    ids = pending(app, 3)
    with app.sessions.begin() as session:
        session.add(Customer(email="reader1@customer.test", created_at=datetime.now(UTC)))
    sink.replies = ["451 4.2.2 mailbox full", "550 5.1.1 no such user"]
    deliverer = Deliverer(app, Renderer(), transport_for(sink.url), batch=3)
    results = deliverer.deliver(ids[0])
    assert [(r.outbox_id, r.state) for r in results] == [
        (ids[0], Delivered.RETRY),
        (ids[1], Delivered.FAILED),
        (ids[2], Delivered.SENT),
    ]
    assert results[0].retry_in == app.settings.delivery_backoff_seconds
    after = rows(app)
    retry, failed, sent = (after[i] for i in ids)
    assert retry.status is OutboxStatus.PENDING and retry.lease_until is None
    assert retry.next_attempt_at > datetime.now(UTC) and retry.last_error.startswith("451")
    assert failed.status is OutboxStatus.FAILED and failed.last_error.startswith("550")
    assert sent.status is OutboxStatus.SENT and sent.smtp_reply.startswith("250")
    assert [m.recipients for m in sink.received] == [("reader2@customer.test",)]
    with app.sessions() as session:
        customer = session.scalars(select(Customer)).one()
    assert customer.bouncing and "no such user" in customer.bounce_reason
    assert deliverer.deliver(ids[0])[0].state is Delivered.SKIPPED  # not due before its backoff


def test_rows_left_when_the_lease_runs_short_go_back(app: App, sink: Sink) -> None:
    ids = pending(app, 4)
    deliverer = Deliverer(with_lease(app, 0.0), Renderer(), transport_for(sink.url), batch=4)
    results = deliverer.deliver(ids[0])
    assert [r.state for r in results] == [Delivered.SENT] + [Delivered.RELEASED] * 3
    after = rows(app)
    for outbox_id in ids[1:]:
        row = after[outbox_id]
        assert (row.status, row.attempts, row.lease_until) == (OutboxStatus.PENDING, 0, None)
    assert deliverer.deliver(ids[1])[0].state is Delivered.SENT


class Crashing:
    """A transport that fails unexpectedly (not a DeliveryError) for one recipient."""

    def __init__(self, inner: Transport, recipient: str) -> None:
        self.inner, self.recipient = inner, recipient

    def send(self, envelope_from: str, recipient: str, data: bytes) -> str:
        if recipient == self.recipient:
            raise RuntimeError("the transport crashed")
        return self.inner.send(envelope_from, recipient, data)


def test_an_error_mid_batch_keeps_that_row_leased_and_returns_the_rest(
    app: App, sink: Sink
) -> None:
    [first] = pending(app, 1)
    [broken] = pending(app, 1, template="customer/closed")
    [last] = pending(app, 1, template="customer/agent_reply")
    with app.sessions.begin() as session:
        session.execute(update(Outbox).where(Outbox.id == broken).values(recipient="x@crash.test"))
    crashing = Crashing(transport_for(sink.url), "x@crash.test")
    deliverer = Deliverer(app, Renderer(), crashing, batch=3)
    with pytest.raises(RuntimeError, match="the transport crashed"):
        deliverer.deliver(first)
    after = rows(app)
    assert after[first].status is OutboxStatus.SENT
    assert after[broken].lease_until is not None and after[broken].attempts == 1
    assert (after[last].lease_until, after[last].attempts) == (None, 0)
    assert deliverer.deliver(last)[0].state is Delivered.SENT


def test_a_template_that_fails_on_its_row_is_a_recorded_failure(app: App, sink: Sink) -> None:
    [broken] = pending(app, 1, template="customer/no_such_template")
    deliverer = Deliverer(app, Renderer(), transport_for(sink.url))
    assert [r.state for r in deliverer.deliver(broken)] == [Delivered.FAILED]
    assert "TemplateNotFound" in rows(app)[broken].last_error


def test_the_actor_enqueues_a_retry_for_any_row_of_its_batch(app: App, sink: Sink) -> None:
    ids = pending(app, 3)
    sink.replies = ["250 2.0.0 OK", "451 4.3.0 try again later"]
    broker = StubBroker()
    tasks = Tasks(app, broker, transport=transport_for(sink.url))
    started = time.time()
    tasks.deliver(ids[0])
    [delayed] = broker.queues["outbox.DQ"].queue
    retry = Message.decode(delayed)
    assert retry.args == (ids[1],)
    assert retry.options["eta"] >= (started + app.settings.delivery_backoff_seconds) * 1000
    assert len(sink.received) == 2
    broker.close()


def test_a_row_that_cannot_be_composed_fails_once_and_for_all(app: App, sink: Sink) -> None:
    """Issue 11, item 11: a header with a CR is the row's fault, not the network's: no retry
    without end, no customer marked as bouncing, the reason recorded."""
    [row] = pending(app, 1)
    with app.sessions.begin() as session:
        session.execute(
            update(Outbox).where(Outbox.id == row).values(recipient="x\r\nBcc: all@else.test")
        )
        session.add(Customer(email="x\r\nbcc: all@else.test", created_at=datetime.now(UTC)))
    deliverer = Deliverer(app, Renderer(), transport_for(sink.url))
    assert [r.state for r in deliverer.deliver(row)] == [Delivered.FAILED]
    failed = rows(app)[row]
    assert failed.status is OutboxStatus.FAILED and "cannot compose" in failed.last_error
    assert sink.received == []
    with app.sessions() as session:
        assert not any(c.bouncing for c in session.scalars(select(Customer)))
