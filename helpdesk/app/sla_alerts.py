"""SLA warnings and breaches: who is told, what they are told, and how often."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.app import tickets
from helpdesk.app.notifications import Planner
from helpdesk.app.runtime import App
from helpdesk.app.unit_of_work import active_agents
from helpdesk.domain.notices import Template
from helpdesk.domain.timers import sla as rules
from helpdesk.domain.vocabulary import EventKind, Role
from storage.models import Agent, GroupMember, Outbox, Ticket


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
    if level is rules.Level.BREACH:
        after = {"clock": clock.value, "due": due.isoformat()}
        tickets.record(
            session, ticket, EventKind.SLA_BREACHED, tickets.Actor.system(), now, after=after
        )
    since = ticket.created_at if clock is not rules.Clock.NEXT_RESPONSE else due - targets.of(clock)
    extra: dict[str, Any] = {
        "clock": clock.label,
        "level": level.value,
        "due": f"{due:%Y-%m-%d %H:%M} UTC",
        "waiting": rules.waited(since, now),
        "subject_prefix": f"SLA {level.value}:",
    }
    planner = Planner(session, app.settings, now)
    cooled = _recently_alerted(session, ticket, extra, now - app.settings.alert_cooldown)
    return [
        planner.sla_alert(agent, ticket, extra)
        for agent in alerted(session, ticket)
        if agent.email not in cooled
    ]


def alerted(session: Session, ticket: Ticket) -> list[Agent]:
    """The assignee; else the group's members; else (and for a group with nobody active) the
    supervisors and admins; else everyone."""
    agents = sorted(active_agents(session).values(), key=lambda a: a.id)
    found = [a for a in agents if a.id == ticket.assignee_agent_id]
    if not found and ticket.assignee_group_id is not None:
        members = set(
            session.scalars(
                select(GroupMember.agent_id).where(GroupMember.group_id == ticket.assignee_group_id)
            )
        )
        found = [a for a in agents if a.id in members]
    return found or [a for a in agents if a.role is not Role.AGENT] or agents


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
