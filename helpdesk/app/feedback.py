"""What an agent is told after a command mail: what was applied, or what was wrong and why.

The answers to ``#help``, ``#list``, ``#show`` and ``#report`` are built here too, within what the
agent may see.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, assert_never

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.app import orders, report, tickets, views
from helpdesk.domain.commands.effects import Help, ListTickets, ReportFigures, Show, SignIn
from helpdesk.domain.commands.plan import Plan
from helpdesk.domain.commands.registry import help_text
from helpdesk.domain.permissions import AgentInfo, TicketView, can_see
from storage.models import Ticket
from storage.queries import TicketFilter, Viewer, list_tickets, ticket_detail

# the link itself is made at delivery, signed, and put at the end of the mail (``links``)
SIGNIN = "Sign in on the web with the link at the end of this mail (valid 30 days; it is yours)."


def state(ticket: Ticket) -> str:
    assignee = tickets.assignee_label(ticket) or "unassigned"
    return (
        f"{ticket.number} is now {ticket.status.value}, priority {ticket.priority.value}, "
        f"{assignee}"
    )


def summary(plan: Plan, ticket: Ticket | None, posted: str, refusal: str = "") -> dict[str, Any]:
    """What the agent is told: ``refusal`` is why a checked plan was not carried out after all
    (the mail was a duplicate, or the ticket it would open was not valid)."""
    if refusal:
        return {"applied": [], "problems": [refusal], "state": "", "nothing_applied": True}
    applied = plan.changed_lines
    if posted:
        applied.insert(0, posted)
    return {
        "applied": applied,
        "problems": [str(p) for p in plan.problems],
        "state": state(ticket) if ticket is not None and not plan.problems else "",
        "nothing_applied": bool(plan.problems),
    }


def answers(
    session: Session, plan: Plan, me: AgentInfo, now: datetime, order_lookup: bool = False
) -> list[str]:
    """The text blocks for ``#help``, ``#list``, ``#show`` and ``#report``, in the order asked."""
    blocks = []
    for answer in plan.answers:
        match answer:
            case Help():
                blocks.append(help_text())
            case ListTickets():
                blocks.append(_listing(session, answer, me))
            case Show(number):
                blocks.append(_show(session, number, me, order_lookup))
            case ReportFigures(since, until):
                try:  # the figures themselves are read at delivery (``chart_asked``)
                    report.period(session, since, until, now)
                except ValueError as exc:  # read at another moment than when it was checked
                    blocks.append(f"#report: {exc}")
            case SignIn():
                blocks.append(SIGNIN)
            case _:
                assert_never(answer)
    return blocks


def chart_asked(session: Session, plan: Plan, now: datetime) -> dict[str, str] | None:
    """What the answer's chart shows (drawn at delivery, out of the mail's transaction: drawing
    takes a second), when the mail asked for a ``#report``."""
    for answer in plan.answers:
        if isinstance(answer, ReportFigures):
            try:
                within = report.period(session, answer.since, answer.until, now)
            except ValueError:
                return None
            by = answer.by.value if answer.by else ""
            return {"since": within.since.isoformat(), "until": within.until.isoformat(), "by": by}
    return None


def view_of(ticket: Ticket) -> TicketView:
    return TicketView(
        ticket.number, ticket.status, ticket.assignee_agent_id, ticket.assignee_group_id
    )


def shown_ticket(session: Session, plan: Plan, me: AgentInfo) -> Ticket | None:
    """The ticket a ``#show`` names, when the agent may see it: its token goes in the answer."""
    for answer in plan.answers:
        if isinstance(answer, Show):
            ticket = session.scalar(select(Ticket).where(Ticket.number == answer.number))
            if ticket is not None and can_see(me, view_of(ticket)):
                return ticket
    return None


def _listing(session: Session, wanted: ListTickets, me: AgentInfo) -> str:
    assignee = wanted.assignee
    where = TicketFilter(
        status=wanted.status,
        priority=wanted.priority,
        assignee=me.email if assignee == "me" else assignee or None,
        viewer=None if me.sees_all else Viewer(me.id, me.group_ids),
    )
    return views.page_text(list_tickets(session, where, wanted.page, 20))


def _show(session: Session, number: str, me: AgentInfo, order_lookup: bool) -> str:
    detail = ticket_detail(session, number)
    ticket = session.scalar(select(Ticket).where(Ticket.number == number))
    if detail is None or ticket is None:
        return f"{number}: Ticket not found"
    if not can_see(me, view_of(ticket)):
        return f"{number} is assigned to someone else; ask a supervisor"
    order = orders.cached(session, detail.external_ref, order_lookup)  # no asking: a transaction
    return views.detail_text(detail, order)
