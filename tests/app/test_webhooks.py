"""Which webhook deliveries the events of a unit of work write, whichever way the change came:
each subscribed event once per active hook, internal notes only to the hooks that ask, with a
snapshot of the ticket; the mail outbox is left as it was."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.app import firing, ticket_requests, unit_of_work, webhooks
from helpdesk.app.notifications import Planner
from helpdesk.app.runtime import App
from helpdesk.domain.vocabulary import EventKind, OutboxStatus, Role
from storage.models import Agent, Outbox, Ticket, TicketEvent, WebhookDelivery
from tests.helpers import mail, store_and_drain

K = EventKind


def hook(app: App, *events: EventKind, internal: bool = False) -> int:
    with app.sessions.begin() as session:
        row, _ = webhooks.add(
            session, "https://crm.example.com/in", events, internal, datetime.now(UTC)
        )
        return row.id


def deliveries(app: App) -> list[WebhookDelivery]:
    with app.sessions() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def by_hook(app: App) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for row in deliveries(app):
        found.setdefault(row.webhook_id, []).append(row.kind.value)
    return found


def agent(session: Session, email: str = "ann@us.test") -> Agent:
    now = datetime.now(UTC)
    found = session.scalar(select(Agent).where(Agent.email == email))
    if found is None:
        found = Agent(email=email, name="Ann", role=Role.SUPERVISOR, created_at=now)
        session.add(found)
    return found


def test_a_new_ticket_by_mail_goes_to_the_hooks_that_ask_for_its_events(app: App) -> None:
    created = hook(app, K.TICKET_CREATED, K.TICKET_COMMENTED)
    resolved = hook(app, K.TICKET_RESOLVED)
    store_and_drain(
        app, mail(sender="Cy <cy@customer.test>", body="The printer is on fire.").as_bytes()
    )
    assert by_hook(app) == {created: ["ticket_created", "ticket_commented"]}
    assert resolved not in by_hook(app)  # a kind it did not ask for is not written
    first, comment = deliveries(app)
    with app.sessions() as session:
        events = session.scalars(select(TicketEvent).order_by(TicketEvent.id)).all()
        ticket = session.scalars(select(Ticket)).one()
    assert [first.event_id, comment.event_id] == [e.id for e in events]  # the receivers' key
    assert first.ticket_id == ticket.id and first.status is OutboxStatus.PENDING
    assert first.payload["ticket"] == {
        "number": ticket.number,
        "subject": "My printer is on fire",
        "status": "open",
        "priority": "medium",
        "category": "general",
        "assignee": None,
        "customer": "cy@customer.test",
    }
    assert first.payload["actor"] == {"kind": "customer", "email": "cy@customer.test"}
    assert first.payload["event"] == "ticket_created" and "message" not in first.payload
    assert comment.payload["message"]["body"] == "The printer is on fire."
    assert comment.payload["message"]["kind"] == "public"
    with app.sessions() as session:  # the mail outbox holds mail only
        templates = set(session.scalars(select(Outbox.template)))
    assert templates == {"customer/ack"}


def test_internal_notes_go_only_to_hooks_that_ask_for_them(app: App) -> None:
    public = hook(app, K.TICKET_COMMENTED, K.TICKET_ASSIGNED, K.TICKET_STATUS_CHANGED)
    internal = hook(app, K.TICKET_COMMENTED, internal=True)
    store_and_drain(app, mail().as_bytes())
    now = datetime.now(UTC)
    with app.sessions.begin() as session:  # as the HTTP API does it
        ann, ticket = agent(session), session.scalars(select(Ticket)).one()
        ticket_requests.command(session, app.settings, ann, ticket, "#assign me", now)
        unit_of_work.unit(session).events.clear()
        ticket_requests.comment(
            session, app.settings, ticket, "Refund: yes", now, agent=ann, internal=True
        )
    notes = [r for r in deliveries(app) if r.payload.get("message", {}).get("kind") == "internal"]
    assert [r.webhook_id for r in notes] == [internal]
    assert notes[0].payload["message"]["body"] == "Refund: yes"
    assert notes[0].payload["ticket"]["assignee"] == "ann@us.test"
    assert notes[0].payload["ticket"]["status"] == "in_progress"
    assert by_hook(app)[public] == [
        "ticket_commented",
        "ticket_assigned",
        "ticket_status_changed",
    ]
    assert by_hook(app)[internal] == ["ticket_commented", "ticket_commented"]


def test_an_sla_breach_fired_by_a_timer_is_delivered_once(app: App) -> None:
    breaches = hook(app, K.SLA_BREACHED)
    store_and_drain(app, mail().as_bytes())
    later = datetime.now(UTC) + timedelta(days=30)
    for _ in range(3):  # the timer, and whatever it sets next
        firing.fire_due(app, later)
    with app.sessions() as session:
        breached = session.scalars(
            select(TicketEvent.id).where(TicketEvent.kind == EventKind.SLA_BREACHED)
        ).all()
    assert breached  # first response and resolution
    rows = deliveries(app)
    assert sorted(r.event_id for r in rows) == sorted(breached)
    assert {r.webhook_id for r in rows} == {breaches}
    assert {r.payload["after"]["clock"] for r in rows} == {"first_response", "resolution"}


def test_an_event_planned_twice_is_delivered_once_and_removed_hooks_get_nothing(
    app: App,
) -> None:
    kept = hook(app, K.TICKET_RESOLVED)
    removed = hook(app, K.TICKET_RESOLVED)
    with app.sessions.begin() as session:
        assert webhooks.remove(session, removed)
        assert not webhooks.remove(session, 999)
    store_and_drain(app, mail().as_bytes())
    now = datetime.now(UTC)
    with app.sessions.begin() as session:
        ann, ticket = agent(session), session.scalars(select(Ticket)).one()
        ticket_requests.command(session, app.settings, ann, ticket, "#resolve done", now)
        Planner(session, app.settings, now).plan(unit_of_work.unit(session).events)  # again
    assert by_hook(app) == {kept: ["ticket_resolved"]}


def test_no_hooks_no_rows(app: App) -> None:
    store_and_drain(app, mail().as_bytes())
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
