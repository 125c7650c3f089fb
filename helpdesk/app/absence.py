"""Absence: an agent away until a date hears nothing meant for whoever answers a ticket, and,
after a grace (``absence_handback_after``), their active tickets go back to the team
(``hand_back``, when the timer set here fires)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.app import timers
from helpdesk.app.settings import Settings
from helpdesk.domain.vocabulary import ACTIVE_STATUSES
from storage.models import Agent, Ticket


def go_away(
    session: Session, agent: Agent, until: datetime, now: datetime, settings: Settings
) -> int:
    """Mark ``agent`` away until ``until``; the number of their active tickets (each now has
    its hand-back timer)."""
    agent.away_since, agent.away_until = now, until
    return _reschedule(session, agent, now, settings)


def come_back(session: Session, agent: Agent, now: datetime, settings: Settings) -> int:
    agent.away_since = agent.away_until = None
    return _reschedule(session, agent, now, settings)


def _reschedule(session: Session, agent: Agent, now: datetime, settings: Settings) -> int:
    session.flush()
    mine = list(
        session.scalars(
            select(Ticket).where(
                Ticket.assignee_agent_id == agent.id, Ticket.status.in_(ACTIVE_STATUSES)
            )
        )
    )
    for ticket in mine:
        timers.schedule(session, ticket, now, settings.timer_policy)
    return len(mine)
