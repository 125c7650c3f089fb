"""A ticket's SLA clocks kept up to date as it changes (the rules: ``helpdesk.domain.timers``).

Called by ``tickets`` at each change that starts, stops or pauses a clock: creation and a new
priority set the due dates; the first public agent reply stops the first-response clock and
every public agent reply the next-response one; a customer's reply, once answered before, starts
a next-response clock; waiting for the customer pauses the resolution clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from helpdesk.app.unit_of_work import business_calendar, sla_policy, unit
from helpdesk.domain import calendar as business
from helpdesk.domain.timers import sla
from helpdesk.domain.timers.facts import Facts
from helpdesk.domain.vocabulary import AuthorKind, MessageKind, Priority, Status
from storage.models import Ticket


def targets(session: Session, priority: Priority) -> sla.Targets | None:
    policy = sla_policy(session, priority)
    if policy is None:
        return None
    following = policy.next_response_minutes or policy.first_response_minutes
    return sla.Targets(
        timedelta(minutes=policy.first_response_minutes),
        timedelta(minutes=following),
        timedelta(minutes=policy.resolution_minutes),
        business_calendar(session),
    )


def facts(ticket: Ticket) -> Facts:
    assignee = ticket.assignee_agent if ticket.assignee_agent_id is not None else None
    away = None
    if assignee is not None and assignee.away_since is not None and assignee.away_until:
        away = (assignee.away_since, assignee.away_until)
    return Facts(
        ticket.status,
        ticket.first_response_due,
        ticket.first_responded_at,
        ticket.next_response_due,
        ticket.resolution_due,
        ticket.sla_paused_at,
        ticket.resolved_at,
        ticket.created_at,
        ticket.agent_active_at,
        ticket.escalated_at,
        away,
        ticket.team_turn_at,
    )


def set_dues(session: Session, ticket: Ticket) -> None:
    """The due dates of the ticket's priority, counted from its creation (and its pauses);
    none for an imported ticket."""
    found = targets(session, ticket.priority)
    if found is None or IMPORTED in ticket.tags:
        return
    hours = found.calendar
    ticket.first_response_due = business.add(hours, ticket.created_at, found.first_response)
    paused = timedelta(seconds=ticket.sla_paused_seconds or 0)  # business time, with a calendar
    ticket.resolution_due = business.add(hours, ticket.created_at, found.resolution + paused)


IMPORTED = "imported"  # the tag of a ticket opened by old mail (``helpdesk imap backfill``)


def old_mail(session: Session) -> bool:
    return unit(session).old_mail


def as_imported(ticket: Ticket) -> None:
    """A ticket old mail opened was promised nothing: no due dates (counted from when its mail
    came they would all be past, and breached at the first timer), the ``imported`` tag, and
    none later from a priority change (``set_dues``). Old mail on any ticket starts no clock
    (``on_status``, ``on_message``); a customer's live reply does, as on any ticket."""
    ticket.first_response_due = ticket.next_response_due = ticket.resolution_due = None
    if IMPORTED not in ticket.tags:
        ticket.tags = [*ticket.tags, IMPORTED]


def on_status(session: Session, ticket: Ticket, before: Status, now: datetime) -> None:
    if old_mail(session):
        return
    if ticket.status in (Status.OPEN, Status.IN_PROGRESS) and before not in (
        Status.OPEN,
        Status.IN_PROGRESS,
    ):
        ticket.team_turn_at = now  # the customer answered, or it reopened: the team's turn
    if ticket.status is Status.AWAITING_CUSTOMER and ticket.sla_paused_at is None:
        ticket.sla_paused_at = now
    elif before is Status.AWAITING_CUSTOMER and ticket.sla_paused_at is not None:
        paused_at, hours = ticket.sla_paused_at, business_calendar(session)
        ticket.resolution_due = sla.resumed(ticket.resolution_due, paused_at, now, hours)
        paused = business.between(hours, paused_at, now)
        ticket.sla_paused_seconds = (ticket.sla_paused_seconds or 0) + int(paused.total_seconds())
        ticket.sla_paused_at = None


def on_message(
    session: Session, ticket: Ticket, kind: MessageKind, author: AuthorKind, now: datetime
) -> None:
    if kind is not MessageKind.PUBLIC:
        return
    if author is AuthorKind.AGENT:
        if ticket.first_responded_at is None:
            ticket.first_responded_at = now
        ticket.next_response_due = None
    elif author is AuthorKind.CUSTOMER and ticket.first_responded_at and not old_mail(session):
        found = targets(session, ticket.priority)
        if found is not None and ticket.next_response_due is None:
            ticket.next_response_due = business.add(found.calendar, now, found.next_response)
