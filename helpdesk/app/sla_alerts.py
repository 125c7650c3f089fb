"""SLA warnings and breaches: who is told, what they are told, and how often."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.app import tickets
from helpdesk.app.notifications import Planner
from helpdesk.app.runtime import App
from helpdesk.app.unit_of_work import answerable, unit
from helpdesk.domain.notices import Template
from helpdesk.domain.timers import sla as rules
from helpdesk.domain.vocabulary import EventKind
from storage.models import Outbox, Ticket


def alert(
    session: Session,
    app: App,
    ticket: Ticket,
    which: tuple[rules.Clock, rules.Level],
    due: datetime,
    targets: rules.Targets,
    now: datetime,
) -> list[Outbox]:
    clock, level = which
    planner = Planner(session, app.settings, now)
    if level is rules.Level.BREACH:
        after = {"clock": clock.value, "due": due.isoformat()}
        breach = tickets.record(
            session, ticket, EventKind.SLA_BREACHED, tickets.Actor.system(), now, after=after
        )
        planner.plan([breach])  # no mail of its own (the alerts are below): its webhooks
    since = ticket.created_at if clock is not rules.Clock.NEXT_RESPONSE else due - targets.of(clock)
    extra: dict[str, Any] = {
        "clock": clock.label,
        "level": level.value,
        "due": f"{due:%Y-%m-%d %H:%M} UTC",
        "waiting": rules.waited(since, now),
        "subject_prefix": f"SLA {level.value}:",
    }
    since = now - app.settings.alert_cooldown
    cooled = _recently_alerted(session, ticket, extra, since)
    rows = [
        planner.sla_alert(agent, ticket, extra)
        for agent in answerable(session, ticket, now)
        if agent.email not in cooled
    ]
    recent(session, [ticket.id], since)[ticket.id] += rows
    return rows


def recent(session: Session, ticket_ids: list[int], since: datetime) -> dict[int, list[Outbox]]:
    """The SLA alerts about these tickets since ``since`` (the cooldown): read once per unit of
    work, the tickets not read yet in one query (a batch of timers reads ahead for all)."""
    known = unit(session).alerted
    unread = [ticket_id for ticket_id in ticket_ids if ticket_id not in known]
    if unread:
        rows = session.scalars(
            select(Outbox).where(
                Outbox.ticket_id.in_(unread),
                Outbox.template == Template.AGENT_SLA_ALERT,
                Outbox.created_at >= since,
            )
        ).all()
        for ticket_id in unread:
            known[ticket_id] = [row for row in rows if row.ticket_id == ticket_id]
    return known


def _recently_alerted(
    session: Session, ticket: Ticket, extra: dict[str, Any], since: datetime
) -> set[str]:
    """Who had this alert (clock and level) about this ticket since ``since``."""
    rows = [r for r in recent(session, [ticket.id], since)[ticket.id] if r.created_at >= since]
    same = ("clock", "level")
    return {r.recipient for r in rows if all(r.context.get(k) == extra[k] for k in same)}
