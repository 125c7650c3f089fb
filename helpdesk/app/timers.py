"""Timers: rows written with the change that sets them, fired once when due.

``schedule`` keeps a ticket's one pending timer at the earliest time it wants something (each
kind decides, in ``helpdesk.domain.timers``), in the caller's unit of work: a reply or a new
priority moves it there and then. ``coming`` is what the reconciler arms; ``firing`` fires them.
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
        current = add(session, ticket, following, now)
    elif current.status is TimerStatus.PENDING:
        return
    current.status = TimerStatus.PENDING
    unit(session).armed.append(current)


def wanted(session: Session, ticket: Ticket, policy: Policy) -> dict[str, datetime]:
    targets = sla.targets(session, ticket.priority)
    return kinds.wanted(sla.facts(ticket), policy, targets, business_calendar(session))


def known(session: Session, ticket: Ticket) -> dict[tuple[str, datetime], Timer]:
    """The ticket's timers by (kind, due), read once per unit of work and kept up to date by
    ``add``, so that a batch of timers reads them in one query (``read_ahead``)."""
    if ticket.id is None:  # opened in this unit of work: no timers yet
        return {}
    found = unit(session).timers
    if ticket.id not in found:
        read_ahead(session, [ticket.id])
    return found[ticket.id]


def read_ahead(session: Session, ticket_ids: list[int], *, lock: bool = False) -> None:
    """The timers of these tickets in one query; ``lock``: FOR UPDATE (their tickets are)."""
    query = select(Timer).where(Timer.ticket_id.in_(ticket_ids))
    found = unit(session).timers
    for ticket_id in ticket_ids:
        found[ticket_id] = {}
    for timer in session.scalars(query.with_for_update() if lock else query):
        found[timer.ticket_id][(timer.kind, timer.due_at)] = timer


def add(session: Session, ticket: Ticket, key: tuple[str, datetime], now: datetime) -> Timer:
    """A new timer of ``key`` (kind, due) for ``ticket``, known to ``known`` from now on."""
    timer = Timer(ticket=ticket, kind=key[0], due_at=key[1], created_at=now)
    session.add(timer)
    if ticket.id is not None:
        known(session, ticket)[key] = timer
    return timer


def _fired(timer: Timer | None) -> bool:
    return timer is not None and timer.status is TimerStatus.FIRED


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
