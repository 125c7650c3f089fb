"""Firing timers: due timers' tickets claimed (locked, then their timers), each ticket looked at
again, and every kind it still wants by now acted on (``sla_alerts``, ``escalations``,
``hand_back``, ``timeouts``) and recorded as fired, in the same transaction; what it no longer
wants is not.

``fire_if_due`` is what a message armed for timers due together runs (``workers.actors.Tasks.arm``),
``fire_due`` what the reconciler runs on every pass for whatever no message fired. Either fires
up to ``FIRE_BATCH`` tickets per transaction, with what they read read ahead in a few queries
(``claims``) and their effects written in one flush: a query or an INSERT per timer had been
most of the cost of firing one (measured on 500 due at once: 10 statements and 9 ms a timer on
SQLite, 23 ms on PostgreSQL; now 0.3 statements and 1.5 ms, 3 ms). Should a batch fail (a
deadlock with a mail's transaction, a timer that cannot be fired), each of its timers is fired
alone, so one bad timer holds up no other. A worker that dies while firing leaves its timers
pending; two workers fire each once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.app import claims, clock, escalations, hand_back, sla, sla_alerts, timeouts, timers
from helpdesk.app.notifications import Planner
from helpdesk.app.runtime import App
from helpdesk.app.unit_of_work import unit
from helpdesk.domain.timers import absence, escalation
from helpdesk.domain.timers import sla as clocks
from helpdesk.domain.vocabulary import TimerStatus
from storage.models import Outbox, Ticket, Timer

log = logging.getLogger("helpdesk.timers")
FIRE_BATCH = 50  # tickets per transaction: ~0.1 s of firing (SQLite holds its write lock)


@dataclass
class _Batch:
    outbox: list[int] = field(default_factory=list)  # the rows written, for delivery
    claimed: int = 0  # tickets claimed
    timers: list[int] = field(default_factory=list)  # the due timers claimed


def fire_due(app: App, now: datetime) -> list[int]:
    """What the reconciler fires: the due timers no message did; the outbox rows written."""
    batch = _drain(app, now, timers.BATCH)
    if batch.timers:  # a message should have: the broker was away, or a worker died
        log.info("the reconciler took %d due timers", len(batch.timers))
    return batch.outbox


def fire_if_due(app: App, timer_ids: list[int], now: datetime) -> list[int]:
    """Fire those of the timers that are due and pending (a message may come early, or twice),
    waiting for whoever holds their tickets, then whatever else is due: in a burst the threads
    that woke first take it all, batch after batch, in parallel on PostgreSQL and back to back
    on SQLite, where writers otherwise queue on the busy timeout's sleeps. Timers fired already
    cost one read, and no lock."""
    with app.reading() as session:
        due = select(Timer.id).where(
            Timer.id.in_(timer_ids), Timer.status == TimerStatus.PENDING, Timer.due_at <= now
        )
        pending = list(session.scalars(due))
    if not pending:
        return []
    return _fire(app, now, pending).outbox + _drain(app, now, timers.ARMED).outbox


def _drain(app: App, now: datetime, limit: int) -> _Batch:
    """Batches of any due timers, up to ``limit`` tickets (the next pass or message takes the
    rest); tickets another transaction holds are passed over."""
    done = _Batch()
    while done.claimed < limit:
        batch = _fire(app, max(now, clock.now(app.settings)), None)
        done.outbox += batch.outbox
        done.claimed += batch.claimed
        done.timers += batch.timers
        if batch.claimed < FIRE_BATCH:
            break
    return done


def _fire(app: App, now: datetime, timer_ids: list[int] | None) -> _Batch:
    """One transaction: the tickets of ``timer_ids`` (None: of any due timers, passing over
    those held) and every due timer of theirs."""
    batch = _Batch()
    try:
        with app.sessions.begin() as session:
            tickets = claims.claim(session, now, timer_ids, FIRE_BATCH)
            claims.read_ahead(session, tickets, now - app.settings.alert_cooldown)
            batch.claimed = len(tickets)
            batch.timers = [t.id for ticket in tickets for t in _due(session, ticket, now)]
            fired: list[Timer] = []
            rows: list[Outbox] = []
            for ticket in tickets:
                rows += _one(session, app, ticket, now, fired)
            session.flush()
            batch.outbox = [row.id for row in rows]
            at = clock.now(app.settings)  # the time of firing: written with the commit
            for timer in fired:
                timer.fired_at = at
            return batch
    except Exception:
        alone = batch.timers or timer_ids or []
        if len(alone) <= 1:
            log.exception("timers %s could not be fired; they stay pending", alone)
            return _Batch(claimed=batch.claimed)
        log.warning("a batch of %d timers failed; firing each alone", len(alone), exc_info=True)
        each = [_fire(app, now, [timer_id]) for timer_id in alone]
        return _Batch([r for b in each for r in b.outbox], batch.claimed, alone)


def _due(session: Session, ticket: Ticket, now: datetime) -> list[Timer]:
    known = timers.known(session, ticket).values()
    return [t for t in known if t.status is TimerStatus.PENDING and t.due_at <= now]


def _one(
    session: Session, app: App, ticket: Ticket, now: datetime, fired: list[Timer]
) -> list[Outbox]:
    """Fire the ticket's due timers in ``session`` (the ticket locked): every kind it wants by
    now that has not fired; ``fired`` is given the timers recorded as fired."""
    due = _due(session, ticket, now)
    if not due:
        return []  # another worker fired or cancelled them
    for timer in due:
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
            done = timers.add(session, ticket, (kind, at), now)
        done.status = TimerStatus.FIRED
        fired.append(done)
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
