"""Two ``helpdesk worker`` processes on one stream of mail end where one worker ends (issue 11,
item 21): new mails and replies to the same tickets, taken by both at once, on Redis."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import func, select, text

from helpdesk.app.runtime import App, build
from helpdesk.app.settings import Settings
from helpdesk.domain.vocabulary import MailStatus, Role
from storage.base import Base
from storage.models import Agent, InboundMail, Message, Outbox, Ticket, TicketEvent
from tests.desk import wait_for
from tests.fixtures import KEEP
from tests.helpers import forget, mail, start_worker, store_raw, worker_env
from workers.actors import Tasks
from workers.processor import drain

CUSTOMERS, REPLIES = 60, 3


def stream() -> list[bytes]:
    """Each customer's first mail, and their replies to it a few mails later: in small
    batches, a reply and the mail it answers go to different workers at the same moment."""
    firsts = [
        mail(
            sender=f"c{i}@customer.test",
            subject=f"Problem {i}",
            body=f"Problem number {i}: the device does not start.",
            message_id=f"<first-{i}@customer.test>",
        )
        for i in range(CUSTOMERS)
    ]
    replies = [
        mail(
            sender=f"c{i}@customer.test",
            subject=f"Re: Problem {i}",
            body=f"Detail {k} on problem {i}.",
            message_id=f"<reply-{i}-{k}@customer.test>",
            in_reply_to=f"<first-{i}@customer.test>",
        )
        for k in range(REPLIES)
        for i in range(CUSTOMERS)
    ]
    again = mail(sender="c0@customer.test", subject="Problem 0", body=str(firsts[0].get_content()))
    ordered = [*firsts[:4]]
    for index, reply in enumerate(replies):  # each reply about four mails after its parent
        ordered.append(reply)
        if index + 4 < CUSTOMERS:
            ordered.append(firsts[index + 4])
    return [m.as_bytes() for m in [*ordered, again]]


def outcome(app: App) -> dict[str, Any]:
    """What the stream came to, without ids, numbers or times."""
    with app.sessions() as session:
        tickets = {t.id: (t.customer.email, t.subject) for t in session.scalars(select(Ticket))}
        return {
            "tickets": sorted(
                (t.customer.email, t.subject, t.status.value, t.linked_ticket_id is not None)
                for t in session.scalars(select(Ticket))
            ),
            "messages": sorted(
                (tickets[m.ticket_id], m.author_email, m.kind.value, m.body, m.verified)
                for m in session.scalars(select(Message))
            ),
            "events": Counter(
                (tickets[e.ticket_id], e.kind.value) for e in session.scalars(select(TicketEvent))
            ),
            "outbox": Counter((o.template, o.recipient) for o in session.scalars(select(Outbox))),
            "mails": Counter(
                (m.status.value, m.outcome) for m in session.scalars(select(InboundMail))
            ),
        }


def reset(app: App) -> None:
    tables = [t.name for t in Base.metadata.sorted_tables if t.name not in KEEP]
    with app.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


def seed(app: App) -> None:
    with app.sessions.begin() as session:
        session.add(
            Agent(email="ann@us.test", name="Ann", role=Role.AGENT, created_at=datetime.now(UTC))
        )
    for raw in stream():
        store_raw(app, raw)


@pytest.fixture
def postgres_app(postgres_url: str, tmp_path: Path) -> Iterator[App]:
    """The production shape only: on SQLite one writer works at a time by design."""
    settings = Settings(
        database_url=postgres_url,
        var_dir=tmp_path / "var",
        support_address="support@example.com",
        secret="test-secret-not-for-production-0123456789",
    )
    app = build(settings)
    reset(app)
    yield app
    app.close()


@contextmanager
def two_workers(app: App, redis_url: str, tmp_path: Path) -> Iterator[RedisBroker]:
    namespace = f"helpdesk-two-{os.getpid()}-{time.monotonic_ns()}"
    broker = RedisBroker(url=redis_url, namespace=namespace)  # type: ignore[no-untyped-call]
    extra = {"HELPDESK_PROCESS_BATCH": "8", "HELPDESK_RECONCILE_SECONDS": "1"}
    outbound = f"maildir:{tmp_path / 'outbox'}"
    env = worker_env(app.settings, redis_url, namespace, HELPDESK_OUTBOUND=outbound, **extra)
    logs = [tmp_path / f"worker-{n}.log" for n in range(2)]
    processes = [start_worker(env, log) for log in logs]
    try:
        for log in logs:
            try:
                wait_for(lambda log=log: "worker running" in log.read_text(), what=log.name)
            except AssertionError:
                raise AssertionError(log.read_text()[-1500:]) from None
        yield broker
        assert all(p.poll() is None for p in processes), [log.read_text() for log in logs]
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)
        broker.flush_all()
        forget(broker)
        broker.close()


def waiting(app: App) -> int:
    with app.sessions() as session:
        query = select(func.count()).where(InboundMail.status == MailStatus.RECEIVED)
        return session.scalar(query) or 0


def test_two_workers_end_where_one_worker_ends(
    postgres_app: App, redis_url: str, tmp_path: Path
) -> None:
    app = postgres_app
    seed(app)
    drain(app)  # one worker
    alone = outcome(app)
    assert len(alone["tickets"]) == CUSTOMERS and alone["mails"][("processed", "duplicate")] == 1
    reset(app)
    seed(app)
    with two_workers(app, redis_url, tmp_path) as broker:  # both drain the backlog at once
        tasks = Tasks(app, broker, inbound_via_broker=True)
        for _ in range(20):
            tasks.drain_inbound.send()
        wait_for(lambda: waiting(app) == 0, timeout=60, what="every mail processed")
    assert outcome(app) == alone
