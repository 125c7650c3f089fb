"""SLA warnings and breaches: who is told, what they are told, and how often."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.app import tickets
from helpdesk.app.notifications import Planner
from helpdesk.app.runtime import App
from helpdesk.app.unit_of_work import answerable
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
    cooled = _recently_alerted(session, ticket, extra, now - app.settings.alert_cooldown)
    return [
        planner.sla_alert(agent, ticket, extra)
        for agent in answerable(session, ticket, now)
        if agent.email not in cooled
    ]


def _recently_alerted(
    session: Session, ticket: Ticket, extra: dict[str, Any], since: datetime
) -> set[str]:
    """Who had this alert (clock and level) about this ticket since ``since`` (the cooldown)."""
    rows = session.scalars(
        select(Outbox).where(
            Outbox.ticket_id == ticket.id,
            Outbox.template == Template.AGENT_SLA_ALERT,
            Outbox.created_at >= since,
        )
    )
    same = ("clock", "level")
    return {r.recipient for r in rows if all(r.context.get(k) == extra[k] for k in same)}
