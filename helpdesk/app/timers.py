"""Timers: rows written with the change that sets them, fired once when due.

``schedule`` makes a ticket's pending timers exactly those it wants now (``helpdesk.domain.sla``
decides), in the caller's unit of work: a reply or a new priority cancels or moves them there and
then. ``fire_due`` is what the reconciler runs on every pass: each due timer is claimed in a
transaction of its own with its ticket locked, looked at again (a timer the ticket no longer
wants is cancelled, not fired), and its alert written in that same transaction, so a worker that
dies while firing leaves the timer pending, and two workers fire it once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.app import sla, tickets
from helpdesk.app.notifications import Planner
from helpdesk.app.runtime import App
from helpdesk.app.unit_of_work import active_agents, unit
from helpdesk.domain import sla as rules
from helpdesk.domain.notices import Template
from helpdesk.domain.vocabulary import EventKind, Role, TimerStatus
from storage.models import Agent, GroupMember, Outbox, Ticket, Timer

BATCH = 500  # due timers one pass looks at; the next pass takes the rest


def schedule(session: Session, ticket: Ticket, now: datetime, ratio: float) -> None:
    targets = sla.targets(session, ticket.priority)
    want = rules.wanted(sla.facts(ticket), targets, ratio) if targets is not None else {}
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


def fire_due(app: App, now: datetime) -> list[int]:
    """Fire every due timer; the ids of the outbox rows their alerts wrote."""
    return [row for timer_id in due_ids(app, now) for row in fire(app, timer_id, now)]


def fire_if_due(app: App, timer_id: int, now: datetime) -> list[int]:
    return fire(app, timer_id, now, only_due=True)


def fire(app: App, timer_id: int, now: datetime, only_due: bool = False) -> list[int]:
    with app.sessions.begin() as session:
        timer = session.get(Timer, timer_id, with_for_update=True)
        if timer is None or timer.status is not TimerStatus.PENDING:
            return []  # another worker fired or cancelled it
        if only_due and timer.due_at > now:
            return []
        ticket = session.get(Ticket, timer.ticket_id, with_for_update=True)
        parsed = rules.parse_kind(timer.kind)
        targets = sla.targets(session, ticket.priority) if ticket is not None else None
        ratio = app.settings.sla_warning_ratio
        if (
            ticket is None
            or parsed is None
            or targets is None
            or not rules.still_wanted(timer.kind, timer.due_at, sla.facts(ticket), targets, ratio)
        ):
            timer.status = TimerStatus.CANCELLED
            return []
        timer.status, timer.fired_at = TimerStatus.FIRED, now
        rows = _alert(session, app, ticket, parsed, timer.due_at, targets, now)
        session.flush()
        return [row.id for row in rows]


def _alert(
    session: Session,
    app: App,
    ticket: Ticket,
    which: tuple[rules.Clock, rules.Level],
    due: datetime,
    targets: rules.Targets,
    now: datetime,
) -> list[Outbox]:
    clock, level = which
    written = datetime.now(UTC)  # rows are written in wall time (``now`` may be a test clock's)
    if level is rules.Level.BREACH:
        after = {"clock": clock.value, "due": due.isoformat()}
        tickets.record(
            session, ticket, EventKind.SLA_BREACHED, tickets.Actor.system(), written, after=after
        )
    since = ticket.created_at if clock is not rules.Clock.NEXT_RESPONSE else due - targets.of(clock)
    extra: dict[str, Any] = {
        "clock": clock.label,
        "level": level.value,
        "due": f"{due:%Y-%m-%d %H:%M} UTC",
        "waiting": rules.waited(since, now),
        "subject_prefix": f"SLA {level.value}:",
    }
    planner = Planner(session, app.settings, written)
    cooled = _recently_alerted(session, ticket, extra, written - app.settings.alert_cooldown)
    return [
        planner.sla_alert(agent, ticket, extra)
        for agent in alerted(session, ticket)
        if agent.email not in cooled
    ]


def alerted(session: Session, ticket: Ticket) -> list[Agent]:
    """The assignee; else the group's members; else (and for a group with nobody active) the
    supervisors and admins; else everyone."""
    agents = sorted(active_agents(session).values(), key=lambda a: a.id)
    found = [a for a in agents if a.id == ticket.assignee_agent_id]
    if not found and ticket.assignee_group_id is not None:
        members = set(
            session.scalars(
                select(GroupMember.agent_id).where(GroupMember.group_id == ticket.assignee_group_id)
            )
        )
        found = [a for a in agents if a.id in members]
    return found or [a for a in agents if a.role is not Role.AGENT] or agents


def _recently_alerted(
    session: Session, ticket: Ticket, extra: dict[str, Any], since: datetime
) -> set[str]:
    """Who had this alert (clock and level) about this ticket since ``since`` (the cooldown)."""
    rows = session.scalars(
        select(Outbox).where(
            Outbox.ticket_id == ticket.id,
            Outbox.template == Template.AGENT_SLA_ALERT,
            Outbox.created_at >= since,
        )
    )
    same = ("clock", "level")
    return {r.recipient for r in rows if all(r.context.get(k) == extra[k] for k in same)}
