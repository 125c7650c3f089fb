"""Timers: rows written with the change that sets them, fired once when due.

``schedule`` makes a ticket's pending timers exactly those it wants now (each kind decides, in
``helpdesk.domain.timers``), in the caller's unit of work: a reply or a new priority cancels or
moves them there and then. ``fire_due`` is what the reconciler runs on every pass, and
``fire_if_due`` what a message armed for the due time runs: each timer is claimed in a
transaction of its own with its ticket locked, looked at again (one the ticket no longer wants is
cancelled, not fired), and acted on in that same transaction (``sla_alerts``, ``timeouts``), so
a worker that dies while firing leaves it pending, and two workers fire it once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.app import sla, sla_alerts, timeouts
from helpdesk.app.notifications import Planner
from helpdesk.app.runtime import App
from helpdesk.app.unit_of_work import unit
from helpdesk.domain import timers as kinds
from helpdesk.domain.timers import sla as clocks
from helpdesk.domain.timers.facts import Policy
from helpdesk.domain.vocabulary import TimerStatus
from storage.models import Outbox, Ticket, Timer

BATCH = 500  # due timers one pass looks at; the next pass takes the rest


def schedule(session: Session, ticket: Ticket, now: datetime, policy: Policy) -> None:
    targets = sla.targets(session, ticket.priority)
    want = kinds.wanted(sla.facts(ticket), policy, targets)
    known: dict[tuple[str, datetime], Timer] = {}
    if ticket.id is not None:
        for timer in session.scalars(select(Timer).where(Timer.ticket_id == ticket.id)):
            known[(timer.kind, timer.due_at)] = timer
    for (kind, due), timer in known.items():
        if timer.status is TimerStatus.PENDING and want.get(kind) != due:
            timer.status = TimerStatus.CANCELLED
    armed = unit(session).armed
    for kind, due in want.items():
        existing = known.get((kind, due))
        if existing is None:
            existing = Timer(ticket=ticket, kind=kind, due_at=due, created_at=now)
            session.add(existing)
            armed.append(existing)
        elif existing.status is TimerStatus.CANCELLED:  # wanted again, as it was
            existing.status = TimerStatus.PENDING
            armed.append(existing)


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
        targets = sla.targets(session, ticket.priority) if ticket is not None else None
        if ticket is None or not kinds.still_wanted(
            timer.kind, timer.due_at, sla.facts(ticket), policy, targets
        ):
            timer.status = TimerStatus.CANCELLED
            return []
        timer.status, timer.fired_at = TimerStatus.FIRED, now
        rows = _act(session, app, ticket, timer, targets, now)
        schedule(session, ticket, now, policy)  # what the ticket wants next (auto-close, say)
        session.flush()
        return [row.id for row in rows]


def _act(
    session: Session,
    app: App,
    ticket: Ticket,
    timer: Timer,
    targets: clocks.Targets | None,
    now: datetime,
) -> list[Outbox]:
    """What the timer's kind does; the mails it calls for (as outbox rows)."""
    which = clocks.parse_kind(timer.kind)
    if which is not None and targets is not None:
        return sla_alerts.alert(session, app, ticket, which, timer.due_at, targets, now)
    unit(session).events.clear()
    extra = timeouts.act(session, ticket, timer.kind, now)
    planner = Planner(session, app.settings, now)
    rows = planner.plan(unit(session).events)
    return [*rows, planner.timeout_notice(ticket, timer.kind, extra)] if extra else rows
