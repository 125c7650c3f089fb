"""What the ticket routes share: a unit of work per change, and what a caller may see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.http.auth import Person, app_of
from gateway.http.errors import not_found, refused
from helpdesk.app import team
from helpdesk.app.feedback import view_of
from helpdesk.app.runtime import App
from helpdesk.app.ticket_requests import Done
from helpdesk.domain.permissions import can_see
from storage.models import Ticket
from storage.queries import Viewer

T = TypeVar("T")
SHOWN_TO_CUSTOMERS = {"ticket_created", "ticket_status_changed", "ticket_resolved", "ticket_closed"}


def unit(request: Request, work: Callable[[Session, App], tuple[T, Done]]) -> T:
    """Run ``work`` in a transaction; after the commit, wake delivery for the mails it wrote."""
    app = app_of(request)
    with app.sessions.begin() as session:
        result, done = work(session, app)
        if done.problems:
            raise refused(done.problems)
        ids = [row.id for row in done.outbox]
    request.app.state.deliver(ids)
    return result


def visible(session: Session, person: Person, number: str) -> Ticket:
    """The ticket, if the caller may see it: an agent's queue, or a customer's own; else the
    same 404 as for a ticket that does not exist."""
    ticket = session.scalar(select(Ticket).where(Ticket.number == number.strip().upper()))
    if ticket is None:
        raise not_found()
    if person.agent is not None:
        if not can_see(team.agent_info(session, person.agent), view_of(ticket)):
            raise not_found()
    elif person.customer is None or ticket.customer_id != person.customer.id:
        raise not_found()
    return ticket


def viewer(session: Session, person: Person) -> Viewer | None:
    assert person.agent is not None
    me = team.agent_info(session, person.agent)
    return None if me.sees_all else Viewer(me.id, me.group_ids)


def for_customer(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a customer sees of a ticket's history: its public messages and its moves."""
    return [
        entry
        for entry in history
        if entry["kind"] in SHOWN_TO_CUSTOMERS
        or (entry["kind"] == "ticket_commented" and entry["message_kind"] == "public")
    ]
