"""``/api/v1/tickets``: what an agent may see and do, through the same changes as by mail."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.http import schemas
from gateway.http.auth import Caller, app_of
from gateway.http.errors import ApiError, not_found, refused
from helpdesk.app import clock, team, ticket_requests
from helpdesk.app.feedback import view_of
from helpdesk.app.runtime import App
from helpdesk.app.ticket_requests import Done
from helpdesk.domain.permissions import can_see
from helpdesk.domain.vocabulary import Priority, Status
from storage.comments import comments
from storage.models import Agent, Ticket
from storage.queries import TicketFilter, Viewer, list_tickets, ticket_detail

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": schemas.Error} for code in (401, 403, 404, 409, 422)
}
router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"], responses=ERRORS)
Page = Annotated[int, Query(ge=1, le=100_000)]
Limit = Annotated[int, Query(ge=1, le=100)]
T = TypeVar("T")


def _unit(request: Request, work: Callable[[Session, App], tuple[T, Done]]) -> T:
    """Run ``work`` in a transaction; after the commit, wake delivery for the mails it wrote."""
    app = app_of(request)
    with app.sessions.begin() as session:
        result, done = work(session, app)
        if done.problems:
            raise refused(done.problems)
        ids = [row.id for row in done.outbox]
    request.app.state.deliver(ids)
    return result


def _visible(session: Session, agent: Agent, number: str) -> Ticket:
    ticket = session.scalar(select(Ticket).where(Ticket.number == number.strip().upper()))
    if ticket is None or not can_see(team.agent_info(session, agent), view_of(ticket)):
        raise not_found()
    return ticket


def _viewer(session: Session, agent: Agent) -> Viewer | None:
    me = team.agent_info(session, agent)
    return None if me.sees_all else Viewer(me.id, me.group_ids)


@router.post("", status_code=201, response_model=schemas.Created)
def create(request: Request, agent: Caller, wanted: schemas.TicketIn) -> schemas.Created:
    """Open a ticket on a customer's behalf (as ``#customer`` does by mail)."""
    settings = app_of(request).settings
    if len(wanted.description.strip()) < settings.min_body_chars:
        raise ApiError(422, f"the description needs at least {settings.min_body_chars} characters")
    category = (wanted.category or "general").lower()
    if category not in settings.category_names:
        raise ApiError(422, f"unknown category {category!r}: {', '.join(settings.category_names)}")

    def work(session: Session, app: App) -> tuple[str, Done]:
        ticket, done = ticket_requests.open_ticket(
            session,
            app.settings,
            wanted.customer.email.lower(),
            wanted.customer.name,
            wanted.subject,
            wanted.description,
            wanted.priority,
            category,
            clock.now(app.settings),
            agent=session.merge(agent),
        )
        return ticket.number, done

    return schemas.Created(number=_unit(request, work))


@router.get("", response_model=schemas.TicketPage)
def listing(
    request: Request,
    agent: Caller,
    status: Annotated[list[Status] | None, Query()] = None,
    priority: Priority | None = None,
    category: str | None = None,
    assignee: str | None = None,
    customer: str | None = None,
    tag: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    order: Annotated[str, Query(pattern="^(newest|urgency)$")] = "newest",
    page: Page = 1,
    limit: Limit = 20,
) -> dict[str, Any]:
    """The tickets the caller may see (agents: theirs, their groups', unassigned ones)."""
    with app_of(request).sessions() as session:
        where = TicketFilter(
            priority=priority,
            assignee=assignee,
            customer=customer,
            viewer=_viewer(session, agent),
            statuses=tuple(status or ()),
            category=category,
            tag=tag,
            created_from=created_from,
            created_to=created_to,
        )
        found = list_tickets(session, where, page, limit, urgent_first=order == "urgency")
        return found.as_json()


@router.get("/assigned", response_model=schemas.TicketPage)
def assigned(request: Request, agent: Caller, page: Page = 1, limit: Limit = 20) -> dict[str, Any]:
    """The tickets assigned to the caller, newest first."""
    with app_of(request).sessions() as session:
        where = TicketFilter(assignee=agent.email)
        return list_tickets(session, where, page, limit).as_json()


@router.get("/my", response_model=schemas.TicketPage)
def my(agent: Caller) -> dict[str, Any]:
    """A customer's own tickets: for customers' sessions, not for agents' tokens."""
    raise ApiError(403, "/tickets/my lists a customer's own tickets; agents use /tickets/assigned")


@router.get("/{number}", response_model=schemas.TicketDetail)
def show(request: Request, agent: Caller, number: str) -> dict[str, Any]:
    """One ticket with its whole history, internal notes included."""
    with app_of(request).sessions() as session:
        _visible(session, agent, number)
        detail = ticket_detail(session, number)
        assert detail is not None
        data = detail.as_json()
        return {**data.pop("ticket"), **data}


def _command(request: Request, agent: Agent, number: str, line: str) -> dict[str, Any]:
    def work(session: Session, app: App) -> tuple[None, Done]:
        ticket = _visible(session, agent, number)
        now = clock.now(app.settings)
        return None, ticket_requests.command(
            session, app.settings, session.merge(agent), ticket, line, now
        )

    _unit(request, work)
    return show(request, agent, number)


@router.put("/{number}/status", response_model=schemas.TicketDetail)
def set_status(
    request: Request, agent: Caller, number: str, wanted: schemas.StatusIn
) -> dict[str, Any]:
    """The same change as ``#status`` by mail (the state machine's moves only: else 409)."""
    return _command(request, agent, number, f"#status {wanted.status.value}")


@router.put("/{number}/assign", response_model=schemas.TicketDetail)
def assign(
    request: Request, agent: Caller, number: str, wanted: schemas.AssignIn
) -> dict[str, Any]:
    """The same change as ``#assign`` by mail: yourself, or (supervisors) anyone or a group."""
    target = f"group:{wanted.group}" if wanted.group else str(wanted.agent)
    return _command(request, agent, number, f"#assign {target}")


@router.post("/{number}/comments", status_code=201, response_model=schemas.CommentOut)
def add_comment(
    request: Request, agent: Caller, number: str, wanted: schemas.CommentIn
) -> dict[str, Any]:
    """A public reply (mailed to the customer) or an internal note (to the team)."""

    def work(session: Session, app: App) -> tuple[int, Done]:
        ticket = _visible(session, agent, number)
        done = ticket_requests.comment(
            session,
            app.settings,
            ticket,
            wanted.body,
            clock.now(app.settings),
            agent=session.merge(agent),
            internal=wanted.internal,
        )
        return ticket.id, done

    ticket_id = _unit(request, work)
    with app_of(request).sessions() as session:
        [latest], _ = comments(session, ticket_id, internal=True, page=1, limit=1)
        return _comment(latest)


@router.get("/{number}/comments", response_model=schemas.CommentPage)
def list_comments(
    request: Request, agent: Caller, number: str, page: Page = 1, limit: Limit = 20
) -> dict[str, Any]:
    """The conversation, most recent first, internal notes included (agents)."""
    with app_of(request).sessions() as session:
        ticket = _visible(session, agent, number)
        found, total = comments(session, ticket.id, internal=True, page=page, limit=limit)
        return {
            "comments": [_comment(c) for c in found],
            "total": total,
            "page": page,
            "pages": max(1, math.ceil(total / limit)),
            "limit": limit,
        }


def _comment(found: Any) -> dict[str, Any]:
    return {
        "id": found.id,
        "kind": found.kind,
        "author": found.author,
        "author_kind": found.author_kind,
        "body": found.body,
        "created_at": found.created_at,
        "attachments": found.attachments,
    }
