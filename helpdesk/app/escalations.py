"""Escalation: an unattended ticket is flagged and the supervisors told (the rule:
``helpdesk.domain.timers.escalation``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from helpdesk.app import tickets
from helpdesk.app.notifications import Planner
from helpdesk.app.runtime import App
from helpdesk.app.unit_of_work import present_agents
from helpdesk.domain.timers import sla as rules
from helpdesk.domain.vocabulary import EventKind, Role
from storage.models import Outbox, Ticket


def escalate(session: Session, app: App, ticket: Ticket, now: datetime) -> list[Outbox]:
    since = max(t for t in (ticket.created_at, ticket.agent_active_at, ticket.team_turn_at) if t)
    ticket.escalated_at = now
    idle = rules.waited(since, now)
    tickets.record(
        session,
        ticket,
        EventKind.TICKET_ESCALATED,
        tickets.Actor.system(),
        now,
        after={"idle": idle, "since": since.isoformat()},
    )
    planner = Planner(session, app.settings, now)
    extra = {"idle": idle, "subject_prefix": "Escalated:"}
    chiefs = [a for a in present_agents(session, now) if a.role is not Role.AGENT]
    return [planner.escalation(agent, ticket, extra) for agent in chiefs]
