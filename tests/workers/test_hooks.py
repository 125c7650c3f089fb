"""Webhook deliveries against a real local HTTP receiver: signed, retried with backoff, in order
per ticket, once per event id; through a ``helpdesk worker`` process on Redis, a receiver down
for a while and a broker wiped meanwhile lose nothing."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from helpdesk.app import webhooks
from helpdesk.app.runtime import App
from helpdesk.app.settings import Settings
from helpdesk.domain.vocabulary import EventKind, MessageKind, OutboxStatus
from storage.models import Message, TicketEvent, WebhookDelivery
from tests.desk import wait_for
from tests.helpers import cli, mail, store_and_drain
from tests.receiver import Hit, Receiver
from tests.sink import Sink
from tests.workers.timed import worker_desk
from workers.hooks import HookSender

K = EventKind


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()


def tuned(app: App, **changes: object) -> App:
    return App(app.settings.model_copy(update=changes), app.engine, app.sessions, app.secret)


def add_hook(app: App, url: str, *events: EventKind, internal: bool = False) -> str:
    with app.sessions.begin() as session:
        _, secret = webhooks.add(session, url, events, internal, datetime.now(UTC))
    return secret


def rows(app: App) -> list[WebhookDelivery]:
    with app.sessions() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def two_events_on_one_ticket(app: App) -> None:
    store_and_drain(app, mail().as_bytes())  # ticket_created, then ticket_commented


def test_a_delivery_is_signed_with_the_hooks_secret_and_names_its_event(
    app: App, receiver: Receiver
) -> None:
    secret = add_hook(app, receiver.url(), K.TICKET_CREATED)
    two_events_on_one_ticket(app)
    assert HookSender(app).send_due() is None  # all sent, nothing to retry
    [hit] = receiver.accepted()
    with app.sessions() as session:
        event = session.scalars(
            select(TicketEvent).where(TicketEvent.kind == K.TICKET_CREATED)
        ).one()
    assert hit.signed_by(secret) and not hit.signed_by(secret + "x")
    assert hit.headers["content-type"] == "application/json"
    assert hit.headers["x-helpdesk-event"] == "ticket_created"
    assert hit.event_id == str(event.id) and hit.data["event_id"] == event.id
    assert abs(int(hit.headers["x-helpdesk-timestamp"]) - time.time()) < 60
    assert hit.data["ticket"]["subject"] == "My printer is on fire"
    [row] = rows(app)
    assert (row.status, row.attempts, row.sent_at is not None) == (OutboxStatus.SENT, 1, True)


def test_a_failing_receiver_is_tried_again_and_the_tickets_next_event_waits(
    app: App, receiver: Receiver
) -> None:
    app = tuned(app, webhook_backoff_seconds=0.2)
    add_hook(app, receiver.url(), K.TICKET_CREATED, K.TICKET_COMMENTED)
    two_events_on_one_ticket(app)
    receiver.status = 503
    sender = HookSender(app)
    assert sender.send_due() == pytest.approx(0.2)  # when to look again
    assert [h.headers["x-helpdesk-event"] for h in receiver.hits] == ["ticket_created"]
    first, second = rows(app)
    assert (first.attempts, first.last_error, first.status) == (1, "HTTP 503", OutboxStatus.PENDING)
    assert second.attempts == 0  # behind the first: not attempted
    assert sender.send_due() is None  # not due yet: nothing is sent
    assert len(receiver.hits) == 1
    receiver.status = 200
    time.sleep(0.25)
    assert sender.send_due() is None
    assert [h.headers["x-helpdesk-event"] for h in receiver.accepted()] == [
        "ticket_created",
        "ticket_commented",
    ]
    assert [r.status for r in rows(app)] == [OutboxStatus.SENT, OutboxStatus.SENT]


def test_a_delivery_is_given_up_after_its_attempts_and_the_next_goes(
    app: App, receiver: Receiver
) -> None:
    app = tuned(app, webhook_backoff_seconds=0.0, webhook_attempts=2)
    add_hook(app, receiver.url(), K.TICKET_CREATED, K.TICKET_COMMENTED)
    two_events_on_one_ticket(app)
    receiver.stop()  # refused
    sender = HookSender(app)
    sender.send_due()
    first, second = rows(app)
    assert (first.status, first.attempts) == (OutboxStatus.FAILED, 2)
    assert "ConnectError" in first.last_error
    assert (second.status, second.attempts) == (OutboxStatus.FAILED, 2)


def test_two_senders_at_once_send_each_delivery_once(app: App, receiver: Receiver) -> None:
    add_hook(app, receiver.url(), K.TICKET_CREATED, K.TICKET_COMMENTED)
    for n in range(8):
        store_and_drain(app, mail(subject=f"Problem {n}", body=f"Broken thing {n}.").as_bytes())
    senders = [threading.Thread(target=HookSender(app).send_due) for _ in range(2)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(timeout=60)
    ids = [hit.event_id for hit in receiver.accepted()]
    assert len(ids) == 16 and len(set(ids)) == 16
    assert {r.status for r in rows(app)} == {OutboxStatus.SENT}


def heads_tried(app: App) -> bool:
    """Each queue (hook and ticket) with a delivery pending has had its first one attempted."""
    heads: dict[tuple[int, int], WebhookDelivery] = {}
    for row in rows(app):
        if row.status is OutboxStatus.PENDING:
            heads.setdefault((row.webhook_id, row.ticket_id), row)
    return len(heads) == 4 and all(row.attempts for row in heads.values())


def expected(app: App, events: set[str], internal: bool) -> dict[str, int]:
    """The event ids a hook should get, with their tickets."""
    with app.sessions() as session:
        found = session.execute(
            select(TicketEvent.id, TicketEvent.kind, TicketEvent.ticket_id, Message.kind)
            .outerjoin(Message, Message.id == TicketEvent.message_id)
            .order_by(TicketEvent.id)
        ).all()
    return {
        str(id_): ticket_id
        for id_, kind, ticket_id, message_kind in found
        if kind.value in events and (internal or message_kind in (None, MessageKind.PUBLIC))
    }


def check(hits: list[Hit], secret: str, wanted: dict[str, int]) -> None:
    """Each wanted event once, signed, and in order per ticket."""
    assert all(hit.signed_by(secret) for hit in hits)
    assert Counter(hit.event_id for hit in hits) == Counter(list(wanted))  # once each, no other
    by_ticket: dict[int, list[int]] = {}
    for hit in hits:
        by_ticket.setdefault(wanted[hit.event_id], []).append(int(hit.event_id))
    assert all(ids == sorted(ids) for ids in by_ticket.values()), by_ticket


def test_a_receiver_down_and_back_gets_every_event_once_in_order_even_with_redis_wiped(
    app: App, settings: Settings, sink: Sink, redis_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    extra = {"HELPDESK_RECONCILE_SECONDS": "0.5", "HELPDESK_WEBHOOK_BACKOFF_SECONDS": "0.1"}
    log = tmp_path / "worker.log"
    with worker_desk(app, settings, sink, redis_url, log, **extra) as desk:
        every = [k.value for k in webhooks.rules.EVENTS]
        public = ["ticket_created", "ticket_commented", "ticket_resolved"]
        out = cli(
            settings,
            "webhook",
            "add",
            receiver.url("/all"),
            "--events",
            ",".join(every),
            "--internal",
        )
        secret_all = out.strip().splitlines()[-1]
        out = cli(settings, "webhook", "add", receiver.url("/public"), "--events", ",".join(public))
        secret_public = out.strip().splitlines()[-1]

        desk.send(
            "cy@customer.test", "support@example.com", "The printer is on fire.", subject="Fire"
        )
        wait_for(lambda: len(receiver.accepted("/public")) == 2, what=f"the first events; {log}")
        first = desk.ticket()

        receiver.stop()  # down: refused
        desk.send("dee@customer.test", "support@example.com", "The scanner is wet.", subject="Wet")
        ann = desk.agent_token(first, "ann")
        desk.send("ann@us.test", ann, "#assign me\n#internal\nRefund approved, keep it quiet.")
        desk.send("ann@us.test", ann, "#resolve\nThe refund is on its way.")
        wait_for(lambda: heads_tried(app), what="an attempt at each queue's head")
        desk.gateway._gateway.broker.flush_all()  # the wake-ups and delayed retries are gone
        receiver.status = 503
        receiver.start()  # back on the same port, failing for a while
        wait_for(lambda: len(receiver.hits) > 2, what="an attempt while it fails")
        time.sleep(1.0)
        receiver.status = 200
        wait_for(
            lambda: {r.status for r in rows(app)} == {OutboxStatus.SENT},
            what=f"every delivery sent; {log}",
        )
    check(receiver.accepted("/all"), secret_all, expected(app, set(every), internal=True))
    check(receiver.accepted("/public"), secret_public, expected(app, set(public), internal=False))
    texts = [hit.body.decode() for hit in receiver.accepted("/public")]
    assert not any("keep it quiet" in text for text in texts)  # the note stays internal
    assert any("keep it quiet" in hit.body.decode() for hit in receiver.accepted("/all"))
    kinds = {hit.headers["x-helpdesk-event"] for hit in receiver.accepted("/public")}
    assert kinds == set(public)  # nothing it did not ask for
