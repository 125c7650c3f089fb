"""Read side: ticket lists and histories as plain data, for the CLI and the mail commands."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.domain import senders
from helpdesk.domain.vocabulary import MailStatus
from storage.listing import count_to, page_ids
from storage.models import (
    Agent,
    Customer,
    Group,
    InboundMail,
    Message,
    MessageAttachment,
    Ticket,
    TicketEvent,
    TicketParticipant,
)
from storage.ticket_filter import TicketFilter as TicketFilter  # where the callers found them
from storage.ticket_filter import Viewer as Viewer

COUNT_LIMIT = 1000  # the total is exact up to here; beyond, "more than" (``list_tickets``)
HISTORY_LIMIT = 100  # the most recent events a ticket's detail gives
MAX_DEPTH = 10_000  # a page starts at most this far into its list (``PageTooDeep``)


class PageTooDeep(ValueError):
    """A page that starts ``MAX_DEPTH`` tickets or more into its list. Reaching it means reading
    past every entry before it (PostgreSQL, 1M tickets: ~90 ms at 100,000 in, for an agent's
    view), which no one reading a queue does; a list that long is narrowed instead (a status,
    ``created_to``), as Zendesk's numbered pages stop at 10,000 records."""


@dataclass(frozen=True)
class TicketRow:
    number: str
    subject: str
    status: str
    priority: str
    category: str
    customer: str
    assignee: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Page:
    rows: list[TicketRow]
    total: int  # exact, or (``total_exact`` False) a lower bound: there are more
    page: int
    pages: int  # likewise: with a lower bound, one more than its pages (a next page exists)
    limit: int
    total_exact: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "tickets": [_jsonable(asdict(r)) for r in self.rows],
            "total": self.total,
            "total_exact": self.total_exact,
            "page": self.page,
            "pages": self.pages,
            "limit": self.limit,
        }


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    kind: str
    actor: str
    before: dict[str, Any]
    after: dict[str, Any]
    message: str = ""
    message_kind: str = ""
    attachments: list[str] = field(default_factory=list)
    message_verified: bool = True  # False: its sender was only named by From:


@dataclass(frozen=True)
class TicketDetail:
    ticket: TicketRow
    description: str
    tags: list[str]
    external_ref: str
    participants: list[str]
    linked_ticket: str
    resolution_notes: str
    first_response_due: datetime | None
    resolution_due: datetime | None
    history: list[HistoryEntry]
    next_response_due: datetime | None = None
    escalated_at: datetime | None = None  # unattended: the supervisors were told
    history_truncated: bool = False  # older events than ``history`` gives exist

    def as_json(self) -> dict[str, Any]:
        data = _jsonable(asdict(self))
        assert isinstance(data, dict)
        return data


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def list_tickets(
    session: Session,
    where: TicketFilter,
    page: int = 1,
    limit: int = 20,
    urgent_first: bool = False,
) -> Page:
    """Tickets matching ``where``, one page of them with the totals: newest first, or (with
    ``urgent_first``) by priority, then oldest first.

    The page's ids come first, from the indexes alone where one serves (the rows of the tickets
    skipped to reach a deep page are never read), then the page's rows in one statement with
    their customer and assignee. The total is counted exactly up to ``COUNT_LIMIT`` (or to the
    end of the page asked for, when that is further) and said to be at least that beyond it
    (``total_exact``): counting a million matching tickets for every page cost more than the
    page (SQLite, 1M tickets: a filter matching half of them took ~0.4 s to count).
    """
    limit = max(1, min(limit, 500))
    page = max(1, page)
    offset = (page - 1) * limit
    if offset >= MAX_DEPTH:
        raise PageTooDeep(
            f"page {page} would start {offset:,} tickets in; pages go {MAX_DEPTH:,} deep: "
            "narrow the list (a status, or created_to= the last ticket's created_at)"
        )
    ids = page_ids(session, where, urgent_first, offset, limit)
    if len(ids) < limit and (ids or offset == 0):  # the last page: the total is known
        total, exact = offset + len(ids), True
    else:
        total, exact = count_to(session, where, max(COUNT_LIMIT, offset + limit))
    pages = max(1, math.ceil(total / limit)) + (0 if exact else 1)
    return Page(_rows(session, ids), total, page, pages, limit, exact)


def _rows(session: Session, ids: list[int]) -> list[TicketRow]:
    """The tickets of ``ids``, in that order, with their customer and assignee in one read."""
    if not ids:
        return []
    found = session.execute(
        select(
            Ticket.id,
            Ticket.number,
            Ticket.subject,
            Ticket.status,
            Ticket.priority,
            Ticket.category,
            Customer.email,
            Agent.email,
            Group.name,
            Ticket.created_at,
            Ticket.updated_at,
        )
        .join(Customer, Customer.id == Ticket.customer_id)
        .outerjoin(Agent, Agent.id == Ticket.assignee_agent_id)
        .outerjoin(Group, Group.id == Ticket.assignee_group_id)
        .where(Ticket.id.in_(ids))
    )
    rows = {}
    for key, number, subject, status, priority, category, customer, agent, group, *at in found:
        assignee = agent or (f"group:{group}" if group else "")
        rows[key] = TicketRow(
            number, subject, status.value, priority.value, category, customer, assignee, *at
        )
    return [rows[key] for key in ids]


def held_from(session: Session, email: str) -> int:
    """How many mails from ``email`` the sender limit holds (quarantined, not yet replayed)."""
    held = select(func.count(InboundMail.id)).where(
        InboundMail.status == MailStatus.QUARANTINED,
        func.lower(InboundMail.from_address) == email.lower(),
        InboundMail.reason.startswith(senders.HELD),
    )
    return session.scalar(held) or 0


def ticket_detail(
    session: Session, number: str, history_limit: int | None = HISTORY_LIMIT
) -> TicketDetail | None:
    """The ticket and its most recent ``history_limit`` events (None: all of them), oldest
    first; ``history_truncated`` when there are older ones (the whole conversation is paged by
    ``storage.comments``). A ticket with 10,000 events took ~0.5 s to give in full."""
    ticket = session.scalar(select(Ticket).where(Ticket.number == number.strip().upper()))
    if ticket is None:
        return None
    participants = session.scalars(
        select(Customer.email)
        .join(TicketParticipant, TicketParticipant.customer_id == Customer.id)
        .where(TicketParticipant.ticket_id == ticket.id)
        .order_by(Customer.email)
    )
    linked = None
    if ticket.linked_ticket_id:
        linked = session.scalar(select(Ticket.number).where(Ticket.id == ticket.linked_ticket_id))
    entries, truncated = history(session, ticket.id, history_limit)
    [row] = _rows(session, [ticket.id])
    return TicketDetail(
        ticket=row,
        description=ticket.description,
        tags=list(ticket.tags),
        external_ref=ticket.external_ref,
        participants=list(participants),
        linked_ticket=linked or "",
        resolution_notes=ticket.resolution_notes,
        first_response_due=ticket.first_response_due,
        resolution_due=ticket.resolution_due,
        history=entries,
        next_response_due=ticket.next_response_due,
        escalated_at=ticket.escalated_at,
        history_truncated=truncated,
    )


def history(
    session: Session, ticket_id: int, limit: int | None = None
) -> tuple[list[HistoryEntry], bool]:
    """The ticket's last ``limit`` events (None: every one), oldest first, with the text of the
    message each concerns; and whether there are older ones."""
    query = (
        select(
            TicketEvent.created_at,
            TicketEvent.kind,
            TicketEvent.actor,
            TicketEvent.before,
            TicketEvent.after,
            Message.id,
            Message.body,
            Message.kind,
            Message.verified,
        )
        .outerjoin(Message, TicketEvent.message_id == Message.id)
        .where(TicketEvent.ticket_id == ticket_id)
        .order_by(TicketEvent.id.desc())
    )
    rows = session.execute(query if limit is None else query.limit(limit + 1)).all()
    truncated = limit is not None and len(rows) > limit
    rows = rows[:limit][::-1] if truncated else rows[::-1]
    names = attachment_names(session, [row[5] for row in rows if row[5] is not None])
    return [
        HistoryEntry(
            at=at,
            kind=kind.value,
            actor=actor,
            before=dict(before),
            after=dict(after),
            message=body if message_id else "",
            message_kind=message_kind.value if message_id else "",
            attachments=names.get(message_id, []) if message_id else [],
            message_verified=verified if message_id else True,
        )
        for at, kind, actor, before, after, message_id, body, message_kind, verified in rows
    ], truncated


def attachment_names(session: Session, message_ids: list[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = {}
    if message_ids:
        for message_id, filename in session.execute(
            select(MessageAttachment.message_id, MessageAttachment.filename)
            .where(MessageAttachment.message_id.in_(message_ids))
            .order_by(MessageAttachment.id)
        ):
            names.setdefault(message_id, []).append(filename)
    return names
