"""The hand-back of an absent agent's ticket, when its timer fires: to the group it had before it
was given to the agent, else to the agent's group if they have just one, else to the open queue;
the assignment's event says why, and the usual assignment notice tells whoever answers now."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.app import tickets
from helpdesk.domain.vocabulary import EventKind
from storage.models import Agent, Group, Ticket, TicketEvent


def hand_back(session: Session, ticket: Ticket, now: datetime) -> None:
    agent = ticket.assignee_agent
    if agent is None:
        return
    group = _before(session, ticket, agent.email) or _only_group(agent)
    label = f"group:{group.name}" if group is not None else ""
    until = f"{agent.away_until:%Y-%m-%d %H:%M} UTC" if agent.away_until else "further notice"
    reason = f"{agent.name or agent.email} is away until {until}"
    tickets.assign(
        session,
        ticket,
        None,
        group.id if group is not None else None,
        label,
        tickets.Actor.system(),
        now,
        reason=reason,
    )


def _before(session: Session, ticket: Ticket, email: str) -> Group | None:
    """The group the ticket had when it was given to the agent, if it had one."""
    given = session.scalars(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.TICKET_ASSIGNED)
        .order_by(TicketEvent.id.desc())
    )
    for event in given:
        if event.after.get("assignee") == email:
            before = str(event.before.get("assignee", ""))
            name = before.removeprefix("group:") if before.startswith("group:") else ""
            return session.scalar(select(Group).where(Group.name == name)) if name else None
    return None


def _only_group(agent: Agent) -> Group | None:
    return agent.groups[0] if len(agent.groups) == 1 else None
