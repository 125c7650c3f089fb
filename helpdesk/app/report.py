"""The support report: the facts of the tickets created in a period, read in four set-based
queries whatever their number (tickets with their assignees, group memberships, SLA breaches,
customer replies after the first answer), and the figures the domain computes from them.

``period`` reads the DATEs people write, ``build`` gives the ``Report``;
``helpdesk.domain.report_text`` writes it (``text``, ``as_json``) and ``report_chart.png``
draws it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from helpdesk.app.unit_of_work import business_calendar
from helpdesk.domain import report_period
from helpdesk.domain.report import Grouping, Report, TicketFacts, compute
from helpdesk.domain.report_period import Period
from helpdesk.domain.timers.sla import Clock
from helpdesk.domain.vocabulary import AuthorKind, EventKind, MessageKind
from storage.models import Agent, Group, GroupMember, Message, Ticket, TicketEvent

CLOCKS = {clock.value: clock for clock in Clock}


def period(session: Session, since: str | None, until: str | None, now: datetime) -> Period:
    """The period ``since`` to ``until`` (``7d``, ``2026-11-30``, or None: the last 30 days up
    to now), in the team's days; ValueError with a reason for a DATE that is not one."""
    return report_period.period(since, until, now, business_calendar(session))


def build(session: Session, within: Period, now: datetime, by: Grouping | None = None) -> Report:
    """The report on the tickets created in ``within``, judged at ``now`` (a clock still
    running is not due yet, or already missed)."""
    return compute(facts(session, within), business_calendar(session), within, now, by)


def facts(session: Session, within: Period) -> list[TicketFacts]:
    created = and_(Ticket.created_at >= within.since, Ticket.created_at < within.until)
    teams = _teams(session)
    breached = _breached(session, created)
    replied = _replied_after_answer(session, created)
    rows = session.execute(
        select(
            Ticket.id,
            Ticket.number,
            Ticket.created_at,
            Ticket.priority,
            Ticket.category,
            Ticket.status,
            Ticket.assignee_agent_id,
            Agent.email.label("agent"),
            Group.name.label("group"),
            Ticket.first_responded_at,
            Ticket.resolved_at,
            Ticket.closed_at,
            Ticket.first_response_due,
            Ticket.next_response_due,
            Ticket.resolution_due,
            Ticket.satisfaction,
        )
        .outerjoin(Agent, Agent.id == Ticket.assignee_agent_id)
        .outerjoin(Group, Group.id == Ticket.assignee_group_id)
        .where(created)
        .order_by(Ticket.created_at, Ticket.id)
    )
    return [
        TicketFacts(
            number=row.number,
            created_at=row.created_at,
            priority=row.priority,
            category=row.category,
            status=row.status,
            agent=row.agent or "",
            groups=(row.group,) if row.group else teams.get(row.assignee_agent_id, ()),
            first_responded_at=row.first_responded_at,
            resolved_at=row.resolved_at,
            closed_at=row.closed_at,
            first_response_due=row.first_response_due,
            next_response_due=row.next_response_due,
            resolution_due=row.resolution_due,
            breached=frozenset(breached.get(row.id, ())),
            replied_after_answer=row.id in replied,
            satisfaction=row.satisfaction,
        )
        for row in rows
    ]


def _teams(session: Session) -> dict[int, tuple[str, ...]]:
    """Each agent's groups by name (a team is small: all of them, in one query)."""
    found: dict[int, list[str]] = defaultdict(list)
    rows = session.execute(
        select(GroupMember.agent_id, Group.name)
        .join(Group, Group.id == GroupMember.group_id)
        .order_by(Group.name)
    )
    for agent_id, name in rows:
        found[agent_id].append(name)
    return {agent_id: tuple(names) for agent_id, names in found.items()}


def _breached(session: Session, created: ColumnElement[bool]) -> dict[int, set[Clock]]:
    """The clocks each ticket's ``sla_breached`` events name."""
    found: dict[int, set[Clock]] = defaultdict(set)
    rows = session.execute(
        select(TicketEvent.ticket_id, TicketEvent.after)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(created, TicketEvent.kind == EventKind.SLA_BREACHED)
    )
    for ticket_id, after in rows:
        clock = CLOCKS.get(str(after.get("clock")))
        if clock is not None:
            found[ticket_id].add(clock)
    return found


def _replied_after_answer(session: Session, created: ColumnElement[bool]) -> set[int]:
    """The tickets with a customer's public reply after the first response: each such reply
    started a next-response clock (``helpdesk.app.sla.on_message``)."""
    return set(
        session.scalars(
            select(Message.ticket_id)
            .distinct()
            .join(Ticket, Ticket.id == Message.ticket_id)
            .where(
                created,
                Message.kind == MessageKind.PUBLIC,
                Message.author_kind == AuthorKind.CUSTOMER,
                Message.created_at > Ticket.first_responded_at,
            )
        )
    )
