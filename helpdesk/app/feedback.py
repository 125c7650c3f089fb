"""What an agent is told after a command mail: what was applied, or what was wrong and why.

The answers to ``#help``, ``#list`` and ``#show`` are built here too, within what the agent may see.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.app import tickets, views
from helpdesk.domain import grammar
from helpdesk.domain.actions import AgentInfo, Plan, TicketView, can_see
from helpdesk.domain.vocabulary import Priority, Status
from storage.models import Ticket
from storage.queries import TicketFilter, Viewer, list_tickets, ticket_detail


def state(ticket: Ticket) -> str:
    assignee = tickets.assignee_label(ticket) or "unassigned"
    return (
        f"{ticket.number} is now {ticket.status.value}, priority {ticket.priority.value}, "
        f"{assignee}"
    )


def summary(plan: Plan, ticket: Ticket | None, posted: str) -> dict[str, Any]:
    applied = [a.line for a in plan.actions if a.name not in ("help", "list", "show")]
    if posted:
        applied.insert(0, posted)
    return {
        "applied": applied,
        "problems": [str(p) for p in plan.problems],
        "state": state(ticket) if ticket is not None and not plan.problems else "",
        "nothing_applied": bool(plan.problems),
    }


def answers(session: Session, plan: Plan, me: AgentInfo) -> list[str]:
    """The text blocks for ``#help``, ``#list`` and ``#show``, in the order asked."""
    blocks = []
    for action in plan.actions:
        if action.name == "help":
            blocks.append(grammar.help_text())
        elif action.name == "list":
            blocks.append(_listing(session, action.args, me))
        elif action.name == "show":
            blocks.append(_show(session, str(action.args["number"]), me))
    return blocks


def view_of(ticket: Ticket) -> TicketView:
    return TicketView(
        ticket.number, ticket.status, ticket.assignee_agent_id, ticket.assignee_group_id
    )


def shown_ticket(session: Session, plan: Plan, me: AgentInfo) -> Ticket | None:
    """The ticket a ``#show`` names, when the agent may see it: its token goes in the answer."""
    for action in plan.actions:
        if action.name == "show":
            ticket = session.scalar(select(Ticket).where(Ticket.number == action.args["number"]))
            if ticket is not None and can_see(me, view_of(ticket)):
                return ticket
    return None


def _listing(session: Session, args: dict[str, object], me: AgentInfo) -> str:
    assignee = args.get("assignee")
    status, priority = args.get("status"), args.get("priority")
    where = TicketFilter(
        status=status if isinstance(status, Status) else None,
        priority=priority if isinstance(priority, Priority) else None,
        assignee=me.email if assignee == "me" else str(assignee) if assignee else None,
        viewer=None if me.sees_all else Viewer(me.id, me.group_ids),
    )
    page = args.get("page", 1)
    return views.page_text(list_tickets(session, where, page if isinstance(page, int) else 1, 20))


def _show(session: Session, number: str, me: AgentInfo) -> str:
    detail = ticket_detail(session, number)
    ticket = session.scalar(select(Ticket).where(Ticket.number == number))
    if detail is None or ticket is None:
        return f"{number}: Ticket not found"
    if not can_see(me, view_of(ticket)):
        return f"{number} is assigned to someone else; ask a supervisor"
    return views.detail_text(detail)
