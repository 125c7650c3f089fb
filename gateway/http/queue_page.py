"""``/queue``: the tickets an agent may see, most urgent first (priority, then the longest
waiting), each coloured by where it stands against its SLA; ``/mine``: a customer's own."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from gateway.http.auth import app_of
from gateway.http.common import viewer
from gateway.http.pages import Visiting, render
from helpdesk.app import clock, queue
from helpdesk.domain.vocabulary import ACTIVE_STATUSES, Priority, Status
from storage.queries import TicketFilter, list_tickets

router = APIRouter(include_in_schema=False)
PER_PAGE = 25
Assignee = Annotated[str, Query(max_length=320, pattern=r"^[^\x00-\x1f]*$")]


@router.get("/queue", response_class=HTMLResponse, response_model=None)
def queue_page(
    request: Request,
    visiting: Visiting,
    status: Annotated[list[Status] | None, Query()] = None,
    priority: Priority | None = None,
    assignee: Assignee = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse | RedirectResponse:
    person = visiting.person
    if person.agent is None:
        return RedirectResponse("/mine", status_code=303)
    app = app_of(request)
    now = clock.now(app.settings)
    statuses = tuple(status or ACTIVE_STATUSES)
    mine = person.agent.email if assignee == "me" else assignee
    with app.reading() as session:
        where = TicketFilter(
            priority=priority,
            assignee=mine or None,
            viewer=viewer(session, person),
            statuses=statuses,
        )
        found = list_tickets(session, where, page, PER_PAGE, urgent_first=True)
        seen = queue.standings(session, app.settings, (r.number for r in found.rows), now)
    return render(
        request,
        "queue",
        visiting=visiting,
        found=found,
        seen=seen,
        statuses=list(Status),
        chosen=statuses,
        priorities=list(Priority),
        priority=priority,
        assignee=assignee,
        query=urlencode(
            {"priority": priority or "", "assignee": assignee, "status": statuses}, doseq=True
        ),
    )


@router.get("/mine", response_class=HTMLResponse, response_model=None)
def mine_page(
    request: Request,
    visiting: Visiting,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse | RedirectResponse:
    person = visiting.person
    if person.customer is None:
        return RedirectResponse("/queue", status_code=303)
    with app_of(request).reading() as session:
        where = TicketFilter(customer=person.customer.email)
        found = list_tickets(session, where, page, PER_PAGE)
    return render(request, "mine", visiting=visiting, found=found, query="")
