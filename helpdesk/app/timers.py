"""Timers: rows written with the change that sets them, fired once when due.

``schedule`` keeps a ticket's one pending timer at the earliest time it wants something (each
kind decides, in ``helpdesk.domain.timers``), in the caller's unit of work: a reply or a new
priority moves it there and then. ``due_ids`` and ``coming`` are what the reconciler looks for;
``firing`` fires them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.app import sla
from helpdesk.app.runtime import App
from helpdesk.app.unit_of_work import business_calendar, unit
from helpdesk.domain import timers as kinds
from helpdesk.domain.timers.facts import Policy
from helpdesk.domain.vocabulary import TimerStatus
from storage.models import Ticket, Timer

BATCH = 500  # due timers one pass looks at; the next pass takes the rest
ARMED = 5000  # timers one pass arms at most: a burst due at one moment


def schedule(session: Session, ticket: Ticket, now: datetime, policy: Policy) -> None:
    """Keep one pending timer per ticket: the earliest it wants that has not fired. When it
    fires, every kind due by then is acted on, and the next one is set; one row per ticket
    rather than one per kind keeps opening a ticket cheap (measured: four rows a ticket were a
    quarter of the pipeline's time)."""
    want = wanted(session, ticket, policy)
    have = known(session, ticket)
    left = {key for key in want.items() if not _fired(have.get(key))}
    following = min(left, key=lambda key: (key[1], key[0]), default=None)
    for key, timer in have.items():
        if timer.status is TimerStatus.PENDING and key != following:
            timer.status = TimerStatus.CANCELLED
    if following is None:
        return
    current = have.get(following)
    if current is None:
        current = Timer(ticket=ticket, kind=following[0], due_at=following[1], created_at=now)
        session.add(current)
    elif current.status is TimerStatus.PENDING:
        return
    current.status = TimerStatus.PENDING
    unit(session).armed.append(current)


def wanted(session: Session, ticket: Ticket, policy: Policy) -> dict[str, datetime]:
    targets = sla.targets(session, ticket.priority)
    return kinds.wanted(sla.facts(ticket), policy, targets, business_calendar(session))


def known(session: Session, ticket: Ticket) -> dict[tuple[str, datetime], Timer]:
    if ticket.id is None:  # opened in this unit of work: no timers yet
        return {}
    rows = session.scalars(select(Timer).where(Timer.ticket_id == ticket.id))
    return {(timer.kind, timer.due_at): timer for timer in rows}


def _fired(timer: Timer | None) -> bool:
    return timer is not None and timer.status is TimerStatus.FIRED


def due_ids(app: App, now: datetime) -> list[int]:
    with app.reading() as session:
        query = (
            select(Timer.id)
            .where(Timer.status == TimerStatus.PENDING, Timer.due_at <= now)
            .order_by(Timer.due_at, Timer.id)
            .limit(BATCH)
        )
        return list(session.scalars(query))


def coming(app: App, after: datetime, until: datetime) -> list[tuple[int, datetime]]:
    """The pending timers that fall due between ``after`` and ``until``, with their due times."""
    with app.reading() as session:
        query = (
            select(Timer.id, Timer.due_at)
            .where(
                Timer.status == TimerStatus.PENDING,
                Timer.due_at > after,
                Timer.due_at <= until,
            )
            .order_by(Timer.due_at, Timer.id)
            .limit(ARMED)
        )
        return [(timer_id, due) for timer_id, due in session.execute(query)]
