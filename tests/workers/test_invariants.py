"""Invariants 2, 3 and 6 at their sharpest: repeats, redelivered jobs, a pipeline that raises."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

import helpdesk.app.pipeline as pipeline
from gateway.intake import Arrival, Intake
from helpdesk.app.pipeline.context import Env, MailContext
from helpdesk.app.runtime import App
from helpdesk.domain.vocabulary import MailStatus
from storage.models import InboundMail, Outbox
from tests.helpers import GatewayThread, mail, store_and_drain, tickets
from tests.sink import Sink
from workers import delivery
from workers.processor import drain
from workers.render import Renderer
from workers.transport import transport_for

SENDER, TO = "alice@customer.test", ("support@example.com",)


def test_same_content_twice_with_new_message_ids_is_one_ticket(
    gateway: GatewayThread, app: App
) -> None:
    gateway.send(mail(message_id="<send-1@customer.test>"))
    gateway.send(mail(message_id="<send-2@customer.test>"))  # Send pressed twice
    gateway.settle()
    assert len(tickets(app)) == 1
    with app.sessions() as session:
        outcomes = sorted(session.scalars(select(InboundMail.outcome)))
    assert outcomes == ["duplicate", "new_ticket"]


def test_a_redelivered_job_sends_nothing_twice(app: App, sink: Sink) -> None:
    store_and_drain(app, mail().as_bytes())  # the row is written; no worker runs here
    with app.sessions() as session:
        row_id = session.scalars(select(Outbox.id)).one()
    deliverer = delivery.Deliverer(app, Renderer(), transport_for(sink.url))
    [first] = deliverer.deliver(row_id)
    [again] = deliverer.deliver(row_id)
    assert (first.state, again.state) == (delivery.Delivered.SENT, delivery.Delivered.SKIPPED)
    assert len(sink.received) == 1


def _explode(ctx: MailContext, env: Env) -> None:
    raise RuntimeError("a stage that breaks")


def test_a_pipeline_failure_is_quarantined_and_the_listener_goes_on(
    gateway: GatewayThread, app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "STAGES", (*pipeline.STAGES[:2], ("explode", _explode)))
    gateway.send(mail(subject="Breaks"))
    gateway.settle()
    with app.sessions() as session:
        stored = session.scalars(select(InboundMail)).one()
    assert stored.status is MailStatus.QUARANTINED
    assert stored.reason == "RuntimeError: a stage that breaks"
    assert "Traceback" in stored.error and "_explode" in stored.error
    monkeypatch.undo()
    gateway.send(mail(subject="Still listening"))
    gateway.settle()
    assert [t.subject for t in tickets(app)] == ["Still listening"]
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboundMail)) == 2


def _database_away(ctx: MailContext, env: Env) -> None:
    raise OperationalError("SELECT 1", {}, ConnectionError("server closed the connection"))


def test_the_database_going_away_quarantines_nothing(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "STAGES", (*pipeline.STAGES[:2], ("away", _database_away)))
    with pytest.raises(OperationalError):
        store_and_drain(app, mail().as_bytes())
    with app.sessions() as session:
        assert session.scalars(select(InboundMail.status)).all() == [MailStatus.RECEIVED]
    monkeypatch.undo()
    drain(app)  # the database is back: the mail goes through
    assert len(tickets(app)) == 1


def test_repeats_are_caught_within_a_batch_and_from_the_batch_before(
    app: App, intake: Intake
) -> None:
    """A batch looks up its repeats ahead, in one query; the mails of the batch itself are
    compared in memory: both must find them."""

    def batch(*mails: EmailMessage) -> None:
        for future in [intake.submit(Arrival(m.as_bytes(), SENDER, TO, "test")) for m in mails]:
            future.result(timeout=30)
        drain(app)

    printer = {"subject": "Printer", "body": "The printer is on fire."}
    batch(mail(message_id="<a1@c.test>", **printer), mail(message_id="<a2@c.test>", **printer))
    batch(
        mail(message_id="<a3@c.test>", **printer),
        mail(message_id="<b1@c.test>", subject="Scanner", body="The scanner is wet."),
    )
    with app.sessions() as session:
        outcomes = dict(session.execute(select(InboundMail.message_id, InboundMail.outcome)).all())
        reasons = set(
            session.scalars(select(InboundMail.reason).where(InboundMail.outcome == "duplicate"))
        )
    [first] = [t.number for t in tickets(app) if t.subject == "Printer"]
    assert outcomes == {
        "<a1@c.test>": "new_ticket",
        "<a2@c.test>": "duplicate",
        "<a3@c.test>": "duplicate",
        "<b1@c.test>": "new_ticket",
    }
    assert reasons == {f"same content from the same sender on {first}"}
