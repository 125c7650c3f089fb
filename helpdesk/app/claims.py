"""What a transaction firing timers takes and reads first: the due timers' tickets, locked
before their timers (the order a mail's transaction takes them in), then, in a query each for
the whole batch, what firing them reads: their timers (locked), customers, groups, first public
messages and recent SLA alerts, the team and its memberships.

A message's own timers are waited for, in ticket order, so that two messages with timers in
common queue rather than deadlock; the reconciler passes over tickets another transaction holds
(PostgreSQL's SKIP LOCKED; SQLite has one writer, which sees every commit before its own).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from helpdesk.app import sla_alerts, timers
from helpdesk.app.unit_of_work import active_agents, memberships, unit
from helpdesk.domain.vocabulary import MessageKind, TimerStatus
from storage.models import Message, Ticket, Timer


def claim(session: Session, now: datetime, timer_ids: list[int] | None, limit: int) -> list[Ticket]:
    """The tickets of ``timer_ids`` that are due, locked in id order; None: up to ``limit``
    tickets with due timers, earliest due first, those locked by another transaction passed
    over."""
    due = (Timer.status == TimerStatus.PENDING, Timer.due_at <= now)
    if timer_ids is not None:
        wanted = select(Timer.ticket_id).where(Timer.id.in_(timer_ids), *due)
        query = select(Ticket).where(Ticket.id.in_(wanted)).order_by(Ticket.id).with_for_update()
    else:
        query = (
            select(Ticket)
            .join(Timer, Timer.ticket_id == Ticket.id)
            .where(*due)
            .order_by(Timer.due_at, Timer.id)
            .limit(limit)
            .with_for_update(of=Ticket, skip_locked=True)
        )
    with_people = query.options(selectinload(Ticket.customer), selectinload(Ticket.assignee_group))
    return list(dict.fromkeys(session.scalars(with_people)))  # two due timers: the ticket once


def read_ahead(session: Session, tickets: list[Ticket], alerts_since: datetime) -> None:
    """Everything firing ``tickets`` reads, into the session and its unit of work."""
    if not tickets:
        return
    ids = [ticket.id for ticket in tickets]
    timers.read_ahead(session, ids, lock=True)
    active_agents(session)
    memberships(session)
    sla_alerts.recent(session, ids, alerts_since)
    first = (
        select(func.min(Message.id))
        .where(Message.ticket_id.in_(ids), Message.kind == MessageKind.PUBLIC)
        .group_by(Message.ticket_id)
    )
    by_ticket = {ticket.id: ticket for ticket in tickets}
    for message in session.scalars(select(Message).where(Message.id.in_(first))):
        unit(session).first_public.setdefault(by_ticket[message.ticket_id], message)
