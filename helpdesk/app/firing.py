"""Firing timers: each due timer claimed with its ticket locked, the ticket looked at again, and
every kind it still wants by now acted on (``sla_alerts``, ``escalations``, ``hand_back``,
``timeouts``) and recorded as fired, in the same transaction; what it no longer wants is not.

``fire_due`` is what the reconciler runs on every pass, and ``fire_if_due`` what a message armed
for a timer's due time runs; either fires up to ``FIRE_BATCH`` due timers in one transaction (a
message takes its own timer and the next due ones, as a delivery job takes the next due rows):
what a timer reads (the SLA policy, the calendar, the team) is read once for all of them, which
is most of the cost of firing one. Should a batch fail (a deadlock with a mail's transaction, a
timer that cannot be fired), each of its timers is fired alone, so one bad timer holds up no
other. A worker that dies while firing leaves its timers pending; two workers fire each once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.app import clock, escalations, hand_back, sla, sla_alerts, timeouts, timers
from helpdesk.app.notifications import Planner
from helpdesk.app.runtime import App
from helpdesk.app.unit_of_work import unit
from helpdesk.domain.timers import absence, escalation
from helpdesk.domain.timers import sla as clocks
from helpdesk.domain.vocabulary import TimerStatus
from storage.models import Outbox, Ticket, Timer

log = logging.getLogger("helpdesk.timers")
FIRE_BATCH = 20  # timers fired in one transaction (on SQLite it holds the write lock meanwhile)


def fire_due(app: App, now: datetime) -> list[int]:
    """Fire every due timer; the ids of the outbox rows they wrote."""
    ids, rows = timers.due_ids(app, now), []
    for start in range(0, len(ids), FIRE_BATCH):
        rows += _fire(app, ids[start : start + FIRE_BATCH], max(now, clock.now(app.settings)))
    return rows


def fire_if_due(app: App, timer_id: int, now: datetime) -> list[int]:
    """Fire the timer if it is due (a message may come early, or twice), and the next due ones;
    a timer already fired costs one read, and no lock."""
    with app.reading() as session:
        timer = session.get(Timer, timer_id)
        if timer is None or timer.status is not TimerStatus.PENDING or timer.due_at > now:
            return []
        others = session.scalars(
            select(Timer.id)
            .where(Timer.status == TimerStatus.PENDING, Timer.due_at <= now, Timer.id != timer_id)
            .order_by(Timer.due_at, Timer.id)
            .limit(FIRE_BATCH - 1)
        )
        ids = [timer_id, *others]
    return _fire(app, ids, now)


def _fire(app: App, ids: list[int], now: datetime) -> list[int]:
    try:
        with app.sessions.begin() as session:
            rows = [row for n, each in enumerate(ids) for row in _one(session, app, each, now, n)]
            session.flush()
            return [row.id for row in rows]
    except Exception:
        if len(ids) == 1:
            log.exception("timer %s could not be fired; it stays pending", ids[0])
            return []
        log.warning("a batch of %d timers failed; firing each alone", len(ids), exc_info=True)
        return [row for each in ids for row in _fire(app, [each], now)]


def _one(session: Session, app: App, timer_id: int, now: datetime, n: int) -> list[Outbox]:
    """Fire one timer in ``session``; the first of a batch is waited for if another worker
    holds its ticket, the others are passed over (that worker fires them)."""
    ticket_id = session.scalar(select(Timer.ticket_id).where(Timer.id == timer_id))
    if ticket_id is None:
        return []
    # the ticket first, then its timer: the order a mail's transaction takes them in
    ticket = session.scalars(
        select(Ticket).where(Ticket.id == ticket_id).with_for_update(skip_locked=n > 0)
    ).first()
    if ticket is None:
        return []  # another worker holds it (and fires it), or it is gone
    timer = session.get(Timer, timer_id, with_for_update=True)
    if timer is None or timer.status is not TimerStatus.PENDING or timer.due_at > now:
        return []  # another worker fired or cancelled it
    timer.status = TimerStatus.CANCELLED  # unless it is one of those due below
    policy = app.settings.timer_policy
    targets = sla.targets(session, ticket.priority)
    known = timers.known(session, ticket)
    want = timers.wanted(session, ticket, policy)
    rows: list[Outbox] = []
    for at, kind in sorted((at, kind) for kind, at in want.items() if at <= now):
        done = known.get((kind, at))
        if done is not None and done.status is TimerStatus.FIRED:
            continue
        if done is None:
            done = Timer(ticket=ticket, kind=kind, due_at=at, created_at=now)
            session.add(done)
        done.status, done.fired_at = TimerStatus.FIRED, clock.now(app.settings)
        rows += _act(session, app, ticket, kind, at, targets, now)
    timers.schedule(session, ticket, now, policy)  # what the ticket wants next (auto-close, say)
    return rows


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
    if kind == absence.HANDBACK:
        hand_back.hand_back(session, ticket, now)
    else:
        extra = timeouts.act(session, ticket, kind, now)
    planner = Planner(session, app.settings, now)
    rows = planner.plan(unit(session).events)
    return [*rows, planner.timeout_notice(ticket, kind, extra)] if extra else rows
