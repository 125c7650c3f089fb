"""``/tickets/{number}``: a ticket's conversation and its forms. Agents see the internal notes
(marked as such), reply in public or in private, and set the status, priority and assignment;
the customer sees only what the API shows them, replies and closes. Each form's post is the
same change as by mail (``#status``, ``#priority``, ``#assign``, ``#close``, a reply), then
back to the page (post, redirect, get), or the page again with what stopped the change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from gateway.http.auth import app_of
from gateway.http.common import command, comment, for_customer, visible
from gateway.http.errors import ApiError
from gateway.http.pages import Posting, Visiting, Visitor, render
from helpdesk.app import clock, orders, queue
from helpdesk.domain.vocabulary import Priority, Status
from storage.models import Agent, Group
from storage.queries import ticket_detail

router = APIRouter(prefix="/tickets", include_in_schema=False)
DONE = {
    "reply": "Your reply was sent.",
    "note": "The internal note was added.",
    "status": "The status was changed.",
    "priority": "The priority was changed.",
    "assign": "The ticket was assigned.",
    "close": "The ticket is closed. Write to us again to reopen it.",
}
Body = Annotated[str, Form(min_length=1, max_length=100_000)]
Target = Annotated[str, Form(min_length=1, max_length=330, pattern=r"^[^\s#]+$")]


@router.get("/{number}", response_class=HTMLResponse)
def ticket_page(request: Request, visiting: Visiting, number: str, done: str = "") -> HTMLResponse:
    return _page(request, visiting, number, notice=DONE.get(done, ""))


@router.post("/{number}/reply", status_code=303, response_model=None)
def reply(
    request: Request,
    visiting: Posting,
    number: str,
    body: Body,
    internal: Annotated[bool, Form()] = False,
) -> Response:
    if visiting.person.customer is not None and internal:
        raise ApiError(403, "internal notes are the team's")
    key = "note" if internal else "reply"
    person = visiting.person
    return _after(
        request, visiting, number, key, lambda: comment(request, person, number, body, internal)[1]
    )


@router.post("/{number}/status", status_code=303, response_model=None)
def set_status(
    request: Request, visiting: Posting, number: str, status: Annotated[Status, Form()]
) -> Response:
    return _agents(request, visiting, number, "status", f"#status {status.value}")


@router.post("/{number}/priority", status_code=303, response_model=None)
def set_priority(
    request: Request, visiting: Posting, number: str, priority: Annotated[Priority, Form()]
) -> Response:
    return _agents(request, visiting, number, "priority", f"#priority {priority.value}")


@router.post("/{number}/assign", status_code=303, response_model=None)
def assign(request: Request, visiting: Posting, number: str, target: Target) -> Response:
    """``me``, an agent's address, or ``group:NAME``, as ``#assign`` takes them."""
    return _agents(request, visiting, number, "assign", f"#assign {target}")


@router.post("/{number}/close", status_code=303, response_model=None)
def close(request: Request, visiting: Posting, number: str) -> Response:
    """The customer's close: as their ``#close`` by mail."""
    if visiting.person.customer is None:
        raise ApiError(403, "agents set the status")
    return _after(
        request, visiting, number, "close", lambda: command(request, visiting.person, number, "")
    )


def _agents(request: Request, visiting: Visitor, number: str, key: str, line: str) -> Response:
    if visiting.person.agent is None:
        raise ApiError(403, "the team sets the status, priority and assignment")
    return _after(
        request, visiting, number, key, lambda: command(request, visiting.person, number, line)
    )


def _after(
    request: Request, visiting: Visitor, number: str, key: str, change: Callable[[], str | None]
) -> Response:
    """Back to the page once the change is made (or to the ticket it made, if it made one);
    the page again with why it was not."""
    try:
        went_to = change() or number.strip().upper()
    except ApiError as refused:
        if refused.status in (401, 404):
            raise
        return _page(request, visiting, number, problem=refused.message, status=refused.status)
    return RedirectResponse(f"/tickets/{went_to}?done={key}", status_code=303)


def _page(
    request: Request,
    visiting: Visitor,
    number: str,
    notice: str = "",
    problem: str = "",
    status: int = 200,
) -> HTMLResponse:
    app = app_of(request)
    person = visiting.person
    extra: dict[str, Any] = {}
    with app.reading() as session:
        visible(session, person, number)
        detail = ticket_detail(session, number)
        assert detail is not None
        data = detail.as_json()
        if person.agent is not None:
            now = clock.now(app.settings)
            extra["seen"] = queue.standings(session, app.settings, [detail.ticket.number], now)
            active = select(Agent.email).where(Agent.active).order_by(Agent.email)
            extra["agents"] = list(session.scalars(active))
            extra["groups"] = sorted(session.scalars(select(Group.name)))
        else:
            data = for_customer(data)
    if person.agent is not None:  # asked outside the transaction, within its timeout
        extra["order"] = orders.details(app, detail.external_ref, clock.now(app.settings))
    return render(
        request,
        "ticket",
        status,
        visiting=visiting,
        shown=data,
        notice=notice,
        problem=problem,
        statuses=list(Status),
        priorities=list(Priority),
        **extra,
    )
