"""Who is told what: internal notes stay with agents; the reconciler finds forgotten rows."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import func, select

from gateway.intake import Arrival, Intake
from helpdesk.app import customers, participants, unit_of_work
from helpdesk.app import tickets as ticket_ops
from helpdesk.app.notifications import Planner
from helpdesk.app.runtime import App
from helpdesk.domain.vocabulary import AuthorKind, MessageKind, OutboxStatus, Role
from storage.models import Agent, Blob, Customer, MessageAttachment, Outbox, Ticket
from tests.helpers import GatewayThread, mail, store_and_drain
from workers.processor import drain

TO = ("support@example.com",)


def test_internal_note_goes_to_other_agents_only_and_reply_to_the_customer(app: App) -> None:
    now = datetime.now(UTC)
    with app.sessions.begin() as session:
        ann = Agent(email="ann@us.test", name="Ann", role=Role.AGENT, created_at=now)
        bob = Agent(email="bob@us.test", name="Bob", role=Role.AGENT, created_at=now)
        session.add_all([ann, bob])
        customer = customers.customer_for(session, "cy@customer.test", "Cy", now)
        cc = customers.customer_for(session, "dee@customer.test", "Dee", now)
        actor = ticket_ops.Actor(AuthorKind.CUSTOMER, customer.email)
        ticket = ticket_ops.open_ticket(session, customer, "Broken", "It broke", actor, now)
        participants.add_participants(session, ticket, [cc], actor, now)
        unit_of_work.unit(session).events.clear()
        by_ann = ticket_ops.Actor(AuthorKind.AGENT, "ann@us.test")
        ticket_ops.add_message(session, ticket, MessageKind.INTERNAL, by_ann, "Secret: refund", now)
        ticket_ops.add_message(session, ticket, MessageKind.PUBLIC, by_ann, "We are on it.", now)
        rows = Planner(session, app.settings, now).plan(unit_of_work.unit(session).events)
        sent = sorted((r.template, r.recipient) for r in rows)
    assert sent == [
        ("agent/internal_note", "bob@us.test"),
        ("customer/agent_reply", "cy@customer.test"),
        ("customer/agent_reply", "dee@customer.test"),
    ]
    for row in rows:
        if row.audience == "customer":
            assert "Secret" not in str(row.context)


def test_the_reconciler_delivers_rows_nobody_enqueued(app: App) -> None:
    fast = App(
        app.settings.model_copy(update={"reconcile_seconds": 0.2}),
        app.engine,
        app.sessions,
        app.secret,
    )
    store_and_drain(app, mail().as_bytes())  # rows written, no broker told
    with app.sessions() as session:
        assert session.scalars(select(Outbox.status)).all() == [OutboxStatus.PENDING]
    running = GatewayThread(fast)
    running.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with app.sessions() as session:
                if session.scalars(select(Outbox.status)).all() == [OutboxStatus.SENT]:
                    break
            time.sleep(0.05)
    finally:
        running.stop()
    with app.sessions() as session:
        assert session.scalars(select(Outbox.status)).all() == [OutboxStatus.SENT]
        assert session.scalar(select(Ticket.number)) is not None
        assert session.scalar(select(Customer.email)) == "alice@customer.test"
    assert drain(app) == 0


def test_a_batch_of_new_senders_is_planned_without_reading_back_and_each_ack_names_its_customer(
    app: App, intake: Intake
) -> None:
    """Mails of one unit of work are planned before anything is flushed; what a row must name
    (the customer's id in its Reply-To token, the quoted message) still comes out right."""
    futures = [
        intake.submit(Arrival(mail(sender=f"n{i}@x.test").as_bytes(), f"n{i}@x.test", TO, "test"))
        for i in range(12)
    ]
    for future in futures:
        future.result(timeout=30)
    drain(app)
    with app.sessions() as session:
        customers = {c.email: c.id for c in session.scalars(select(Customer))}
        acks = session.scalars(select(Outbox).where(Outbox.template == "customer/ack")).all()
        firsts = {t.id: t.customer_id for t in session.scalars(select(Ticket))}
    assert len(acks) == 12
    for ack in acks:
        assert ack.context["party_id"] == customers[ack.recipient]
        assert ack.ticket_id is not None and firsts[ack.ticket_id] == customers[ack.recipient]
        assert ack.quoted_message_id is not None


def test_the_acknowledgement_limit_counts_the_rows_of_the_same_batch(
    app: App, intake: Intake
) -> None:
    limit = app.settings.answer_limit_per_hour
    futures = [
        intake.submit(
            Arrival(mail(subject=f"Case {i}").as_bytes(), "alice@customer.test", TO, "test")
        )
        for i in range(limit + 3)
    ]
    for future in futures:
        future.result(timeout=30)
    drain(app)
    with app.sessions() as session:
        acks = session.scalars(select(Outbox).where(Outbox.template == "customer/ack")).all()
        opened = session.scalar(select(func.count()).select_from(Ticket))
    assert opened == limit + 3
    assert len(acks) == limit


def test_an_attachment_sent_again_is_stored_once_within_a_batch_and_after_it(
    app: App, intake: Intake
) -> None:
    """Which contents are stored already is read once for the batch; the batch's own new
    contents count too, flushed or not."""

    def with_report(subject: str) -> bytes:
        message = mail(subject=subject)
        message.add_attachment(
            b"%PDF-1.4 the same report",
            maintype="application",
            subtype="pdf",
            filename="report.pdf",
        )
        return message.as_bytes()

    for batch in (["First", "Second"], ["Third"]):
        futures = [
            intake.submit(Arrival(with_report(s), "alice@customer.test", TO, "test")) for s in batch
        ]
        for future in futures:
            future.result(timeout=30)
        drain(app)
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Blob)) == 1
        assert session.scalar(select(func.count()).select_from(MessageAttachment)) == 3
