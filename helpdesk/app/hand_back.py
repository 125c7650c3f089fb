"""The hand-back of an absent agent's ticket, when its timer fires: to the agent's group (the
first by name, if several) or, with none, to the open queue; the assignment's event says why,
and the usual assignment notice tells the group."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from helpdesk.app import tickets
from storage.models import Ticket


def hand_back(session: Session, ticket: Ticket, now: datetime) -> None:
    agent = ticket.assignee_agent
    if agent is None:
        return
    groups = sorted(agent.groups, key=lambda g: g.name)
    group = groups[0] if groups else None
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
