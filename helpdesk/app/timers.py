"""Timers: rows written with the change that sets them, fired once when due.

``schedule`` keeps a ticket's one pending timer at the earliest time it wants something (each
kind decides, in ``helpdesk.domain.timers``), in the caller's unit of work: a reply or a new
priority moves it there and then. ``fire_due`` is what the reconciler runs on every pass, and
``fire_if_due`` what a message armed for the due time runs: the timer is claimed in a
transaction of its own with its ticket locked, the ticket looked at again, and every kind it
still wants by now acted on in that same transaction (``sla_alerts``, ``timeouts``) and recorded
as fired; what it no longer wants is not. A worker that dies while firing leaves the timer
pending, and two workers fire it once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.app import escalations, hand_back, sla, sla_alerts, timeouts
from helpdesk.app.notifications import Planner
from helpdesk.app.runtime import App
from helpdesk.app.unit_of_work import business_calendar, unit
from helpdesk.domain import timers as kinds
from helpdesk.domain.timers import absence as absence_rules
from helpdesk.domain.timers import escalation
from helpdesk.domain.timers import sla as clocks
from helpdesk.domain.timers.facts import Policy
from helpdesk.domain.vocabulary import TimerStatus
from storage.models import Outbox, Ticket, Timer

BATCH = 500  # due timers one pass looks at; the next pass takes the rest


def schedule(session: Session, ticket: Ticket, now: datetime, policy: Policy) -> None:
    """Keep one pending timer per ticket: the earliest it wants that has not fired. When it
    fires, every kind due by then is acted on, and the next one is set; one row per ticket
    rather than one per kind keeps opening a ticket cheap (measured: four rows a ticket were a
    quarter of the pipeline's time)."""
    want = _wanted(session, ticket, policy)
    known = _known(session, ticket)
    left = {key for key in want.items() if not _fired(known.get(key))}
    following = min(left, key=lambda key: (key[1], key[0]), default=None)
    for key, timer in known.items():
        if timer.status is TimerStatus.PENDING and key != following:
            timer.status = TimerStatus.CANCELLED
    if following is None:
        return
    current = known.get(following)
    if current is None:
        current = Timer(ticket=ticket, kind=following[0], due_at=following[1], created_at=now)
        session.add(current)
    elif current.status is TimerStatus.PENDING:
        return
    current.status = TimerStatus.PENDING
    unit(session).armed.append(current)


def _wanted(session: Session, ticket: Ticket, policy: Policy) -> dict[str, datetime]:
    targets = sla.targets(session, ticket.priority)
    return kinds.wanted(sla.facts(ticket), policy, targets, business_calendar(session))


def _known(session: Session, ticket: Ticket) -> dict[tuple[str, datetime], Timer]:
    if ticket.id is None:  # opened in this unit of work: no timers yet
        return {}
    rows = session.scalars(select(Timer).where(Timer.ticket_id == ticket.id))
    return {(timer.kind, timer.due_at): timer for timer in rows}


def _fired(timer: Timer | None) -> bool:
    return timer is not None and timer.status is TimerStatus.FIRED


def due_ids(app: App, now: datetime) -> list[int]:
    with app.sessions() as session:
        query = (
            select(Timer.id)
            .where(Timer.status == TimerStatus.PENDING, Timer.due_at <= now)
            .order_by(Timer.due_at, Timer.id)
            .limit(BATCH)
        )
        return list(session.scalars(query))


def coming(app: App, after: datetime, until: datetime) -> list[tuple[int, datetime]]:
    """The pending timers that fall due between ``after`` and ``until``, with their due times."""
    with app.sessions() as session:
        query = (
            select(Timer.id, Timer.due_at)
            .where(
                Timer.status == TimerStatus.PENDING,
                Timer.due_at > after,
                Timer.due_at <= until,
            )
            .order_by(Timer.due_at)
            .limit(BATCH)
        )
        return [(timer_id, due) for timer_id, due in session.execute(query)]


def fire_due(app: App, now: datetime) -> list[int]:
    """Fire every due timer; the ids of the outbox rows they wrote."""
    return [row for timer_id in due_ids(app, now) for row in fire(app, timer_id, now)]


def fire_if_due(app: App, timer_id: int, now: datetime) -> list[int]:
    return fire(app, timer_id, now, only_due=True)


def fire(app: App, timer_id: int, now: datetime, only_due: bool = False) -> list[int]:
    policy = app.settings.timer_policy
    with app.sessions.begin() as session:
        timer = session.get(Timer, timer_id, with_for_update=True)
        if timer is None or timer.status is not TimerStatus.PENDING:
            return []  # another worker fired or cancelled it
        if only_due and timer.due_at > now:
            return []
        ticket = session.get(Ticket, timer.ticket_id, with_for_update=True)
        timer.status = TimerStatus.CANCELLED  # unless it is one of those due below
        if ticket is None:
            return []
        targets = sla.targets(session, ticket.priority)
        known = _known(session, ticket)
        want = _wanted(session, ticket, policy)
        due = sorted((at, kind) for kind, at in want.items() if at <= now)
        rows: list[Outbox] = []
        for at, kind in due:
            done = known.get((kind, at))
            if _fired(done):
                continue
            if done is None:
                done = Timer(ticket=ticket, kind=kind, due_at=at, created_at=now)
                session.add(done)
            done.status, done.fired_at = TimerStatus.FIRED, now
            rows += _act(session, app, ticket, kind, at, targets, now)
        schedule(session, ticket, now, policy)  # what the ticket wants next (auto-close, say)
        session.flush()
        return [row.id for row in rows]


def _act(
    session: Session,
    app: App,
    ticket: Ticket,
    kind: str,
    due: datetime,
    targets: clocks.Targets | None,
    now: datetime,
) -> list[Outbox]:
    """What the timer's kind does; the mails it calls for (as outbox rows)."""
    which = clocks.parse_kind(kind)
    if which is not None and targets is not None:
        return sla_alerts.alert(session, app, ticket, which, due, targets, now)
    if kind == escalation.ESCALATE:
        return escalations.escalate(session, app, ticket, now)
    unit(session).events.clear()
    extra = None
    if kind == absence_rules.HANDBACK:
        hand_back.hand_back(session, ticket, now)
    else:
        extra = timeouts.act(session, ticket, kind, now)
    planner = Planner(session, app.settings, now)
    rows = planner.plan(unit(session).events)
    return [*rows, planner.timeout_notice(ticket, kind, extra)] if extra else rows
