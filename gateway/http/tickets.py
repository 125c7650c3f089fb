"""``/api/v1/tickets``: what an agent may see and do, through the same changes as by mail."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session

from gateway.http import schemas
from gateway.http.auth import Caller, Person, Someone, app_of
from gateway.http.common import (
    acting,
    command,
    comment,
    for_customer,
    unit,
    utc,
    viewer,
    visible,
)
from gateway.http.errors import ApiError
from helpdesk.app import clock, orders, ticket_requests
from helpdesk.app.pipeline import validate
from helpdesk.app.runtime import App
from helpdesk.app.ticket_requests import Done
from helpdesk.domain.vocabulary import Priority, Status
from storage.comments import comment_by_id, comments
from storage.queries import TicketFilter, list_tickets, ticket_detail

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": schemas.Error} for code in (400, 401, 403, 404, 409, 422)
}
router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"], responses=ERRORS)
Page = Annotated[int, Query(ge=1, le=100_000)]
Limit = Annotated[int, Query(ge=1, le=100)]
Text = Annotated[str | None, Query(max_length=320, pattern=schemas.LINE)]  # no NUL, no newline


@router.post("", status_code=201, response_model=schemas.Created)
def create(request: Request, person: Someone, wanted: schemas.TicketIn) -> schemas.Created:
    """A customer opens their own ticket; an agent opens one on a customer's behalf (as
    ``#customer`` does by mail), naming them."""
    settings = app_of(request).settings
    if person.customer is not None:
        own = person.customer
        if wanted.customer is not None and wanted.customer.email.lower() != own.email:
            raise ApiError(403, "customers open tickets for themselves only")
        email, name = own.email, own.name
    elif wanted.customer is None:
        raise ApiError(422, "customer: the customer the ticket is for ({email, name})")
    else:
        email, name = wanted.customer.email.lower(), wanted.customer.name
    if person.customer is not None and (
        wanted.priority is not Priority.MEDIUM or wanted.category not in (None, "general")
    ):
        raise ApiError(403, "the team sets the priority and category of a ticket")
    too_short = validate.problems(wanted.subject, wanted.description, 0, settings)
    if too_short:  # the rules, and the words, of a mail that cannot become a ticket
        raise ApiError(422, "; ".join(too_short))
    category = (wanted.category or "general").lower()
    if category not in settings.category_names:
        raise ApiError(422, f"unknown category {category!r}: {', '.join(settings.category_names)}")

    def work(session: Session, app: App) -> tuple[str, Done]:
        agent, _ = acting(session, person, clock.now(app.settings))
        ticket, done = ticket_requests.open_ticket(
            session,
            app.settings,
            email,
            name,
            wanted.subject,
            wanted.description,
            wanted.priority,
            category,
            clock.now(app.settings),
            agent=agent,
        )
        return ticket.number, done

    return schemas.Created(number=unit(request, work))


@router.get("", response_model=schemas.TicketPage)
def listing(
    request: Request,
    person: Someone,
    status: Annotated[list[Status] | None, Query()] = None,
    priority: Priority | None = None,
    category: Text = None,
    assignee: Text = None,
    customer: Text = None,
    tag: Text = None,
    created_from: datetime | None = None,  # without a zone: UTC
    created_to: datetime | None = None,
    order: Annotated[str, Query(pattern="^(newest|urgency)$")] = "newest",
    page: Page = 1,
    limit: Limit = 20,
) -> dict[str, Any]:
    """The tickets the caller may see (agents: theirs, their groups', unassigned ones;
    supervisors and admins: all; customers: their own)."""
    with app_of(request).reading() as session:
        mine = person.customer.email if person.customer is not None else None
        where = TicketFilter(
            priority=priority,
            assignee=assignee,
            customer=mine or customer,
            viewer=viewer(session, person) if mine is None else None,
            statuses=tuple(status or ()),
            category=category,
            tag=tag,
            created_from=utc(created_from),
            created_to=utc(created_to),
        )
        found = list_tickets(session, where, page, limit, urgent_first=order == "urgency")
        return found.as_json()


@router.get("/assigned", response_model=schemas.TicketPage)
def assigned(request: Request, agent: Caller, page: Page = 1, limit: Limit = 20) -> dict[str, Any]:
    """The tickets assigned to the caller, newest first."""
    with app_of(request).reading() as session:
        where = TicketFilter(assignee=agent.email)
        return list_tickets(session, where, page, limit).as_json()


@router.get("/my", response_model=schemas.TicketPage)
def my(request: Request, person: Someone, page: Page = 1, limit: Limit = 20) -> dict[str, Any]:
    """A customer's own tickets, newest first (agents: ``/tickets/assigned``)."""
    if person.customer is None:
        raise ApiError(403, "/tickets/my lists a customer's own tickets; agents use /assigned")
    with app_of(request).reading() as session:
        where = TicketFilter(customer=person.customer.email)
        return list_tickets(session, where, page, limit).as_json()


@router.get("/{number}", response_model=schemas.TicketDetail)
def show(request: Request, person: Someone, number: str) -> dict[str, Any]:
    """One ticket with its history: all of it for agents (internal notes too), its public
    messages and moves for its customer."""
    with app_of(request).reading() as session:
        visible(session, person, number)
        detail = ticket_detail(session, number)
        assert detail is not None
        data = detail.as_json()
        if person.customer is not None:
            data = for_customer(data)
    if person.agent is not None:  # asked outside the transaction, within its timeout
        app = app_of(request)
        data["order"] = orders.details(app, detail.external_ref, clock.now(app.settings))
    return {**data.pop("ticket"), **data}


def _command(request: Request, person: Person, number: str, line: str) -> dict[str, Any]:
    command(request, person, number, line)
    return show(request, person, number)


@router.put("/{number}/status", response_model=schemas.TicketDetail)
def set_status(
    request: Request, person: Someone, number: str, wanted: schemas.StatusIn
) -> dict[str, Any]:
    """The same change as ``#status`` by mail (the state machine's moves only: else 409); a
    customer may close their own ticket."""
    if person.customer is not None and wanted.status is not Status.CLOSED:
        raise ApiError(403, "a customer may close their ticket; the team sets the other statuses")
    return _command(request, person, number, f"#status {wanted.status.value}")


@router.put("/{number}/assign", response_model=schemas.TicketDetail)
def assign(
    request: Request, agent: Caller, number: str, wanted: schemas.AssignIn
) -> dict[str, Any]:
    """The same change as ``#assign`` by mail: yourself, or (supervisors) anyone or a group."""
    target = f"group:{wanted.group}" if wanted.group else str(wanted.agent)
    return _command(request, Person(agent=agent), number, f"#assign {target}")


@router.post("/{number}/comments", status_code=201, response_model=schemas.CommentOut)
def add_comment(
    request: Request, person: Someone, number: str, wanted: schemas.CommentIn
) -> dict[str, Any]:
    """A public reply (mailed to the customer) or an internal note (to the team); a
    customer's reply (never internal) is mailed to the team."""
    if person.customer is not None and wanted.internal:
        raise ApiError(403, "internal notes are the team's")

    message_id, _ = comment(request, person, number, wanted.body, internal=wanted.internal)
    with app_of(request).reading() as session:
        return _comment(comment_by_id(session, message_id))


@router.get("/{number}/comments", response_model=schemas.CommentPage)
def list_comments(
    request: Request, person: Someone, number: str, page: Page = 1, limit: Limit = 20
) -> dict[str, Any]:
    """The conversation, most recent first; internal notes for agents only."""
    with app_of(request).reading() as session:
        ticket = visible(session, person, number)
        internal = person.agent is not None
        found, total = comments(session, ticket.id, internal=internal, page=page, limit=limit)
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
        "verified": found.verified,
    }
