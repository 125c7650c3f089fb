"""What the ticket routes share: a unit of work per change, and what a caller may see."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.http.auth import Person, app_of
from gateway.http.errors import ApiError, not_found, refused
from helpdesk.app import clock, team, ticket_requests, unit_of_work
from helpdesk.app.feedback import view_of
from helpdesk.app.pipeline.identify import block_reason
from helpdesk.app.runtime import App
from helpdesk.app.ticket_requests import Done
from helpdesk.domain.permissions import can_see
from storage.models import Agent, Customer, Ticket
from storage.queries import Viewer

T = TypeVar("T")
SHOWN_TO_CUSTOMERS = {"ticket_created", "ticket_status_changed", "ticket_resolved", "ticket_closed"}


def unit(request: Request, work: Callable[[Session, App], tuple[T, Done]]) -> T:
    """Run ``work`` in a transaction; after the commit, wake delivery for the mails it wrote
    and arm the timers it set (the reconciler would arm them too, a pass later: late for a
    timer due sooner than that)."""
    app = app_of(request)
    with app.sessions.begin() as session:
        result, done = work(session, app)
        if done.problems:
            raise refused(done.problems)
        session.flush()
        ids = [row.id for row in done.outbox]
        armed = [(timer.id, timer.due_at) for timer in unit_of_work.unit(session).armed]
    request.app.state.deliver(ids, armed)
    return result


def command(request: Request, person: Person, number: str, line: str) -> None:
    """A command line on the ticket, as in the caller's mail about it: a customer's only
    command is their close (as ``#close``)."""

    def work(session: Session, app: App) -> tuple[None, Done]:
        ticket = visible(session, person, number)
        now = clock.now(app.settings)
        if person.customer is not None:
            return None, ticket_requests.close_own(session, app.settings, ticket, now)
        agent, _ = acting(session, person, now)
        assert agent is not None
        return None, ticket_requests.command(session, app.settings, agent, ticket, line, now)

    unit(request, work)


def comment(
    request: Request, person: Person, number: str, body: str, internal: bool
) -> tuple[int, str]:
    """The caller's reply or note on the ticket; the new message's id, and the number of the
    ticket it went to (a new one, linked, for a reply to a ticket long closed)."""

    def work(session: Session, app: App) -> tuple[tuple[int, str], Done]:
        ticket = visible(session, person, number)
        now = clock.now(app.settings)
        agent, customer = acting(session, person, now)
        done = ticket_requests.comment(
            session,
            app.settings,
            ticket,
            body,
            now,
            agent=agent,
            customer=customer,
            internal=internal,
        )
        assert done.message is not None and done.ticket is not None
        session.flush()
        return (done.message.id, done.ticket.number), done

    return unit(request, work)


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


def for_customer(detail: dict[str, Any]) -> dict[str, Any]:
    """What a customer sees of a ticket: its public messages (not those only claimed to be
    theirs by a From:) and its moves, without the team's bookkeeping (tags, reference, due
    times, escalation)."""
    history = [
        entry
        for entry in detail["history"]
        if entry["kind"] in SHOWN_TO_CUSTOMERS
        or (
            entry["kind"] == "ticket_commented"
            and entry["message_kind"] == "public"
            and entry["message_verified"]
        )
    ]
    hidden = dict.fromkeys(("first_response_due", "next_response_due", "resolution_due"))
    return (
        detail
        | hidden
        | {
            "history": history,
            "tags": [],
            "external_ref": "",
            "escalated_at": None,
        }
    )


def blocked(customer: Customer, now: datetime) -> bool:
    """Blocked now, as the mail side reads it (an expired block no longer counts)."""
    return block_reason(customer, now) is not None


def acting(session: Session, person: Person, now: datetime) -> tuple[Agent | None, Customer | None]:
    """The caller, read again inside the change's transaction: one made inactive (or blocked)
    since the request came in changes nothing, and nothing read before is written back."""
    if person.agent is not None:
        agent = session.get(Agent, person.agent.id)
        if agent is None or not agent.active:
            raise ApiError(401, "the agent is no longer active")
        return agent, None
    assert person.customer is not None
    customer = session.get(Customer, person.customer.id)
    if customer is None or blocked(customer, now):
        raise ApiError(403, "this address may not write to the helpdesk")
    return None, customer


def utc(moment: datetime | None) -> datetime | None:
    """A time as the API takes it: one written without a zone is UTC."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment
