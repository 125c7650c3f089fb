"""Read side: ticket lists and histories as plain data, for the CLI and the mail commands."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session, aliased

from helpdesk.domain.vocabulary import Priority, Status
from storage.models import (
    Agent,
    Customer,
    Group,
    Message,
    MessageAttachment,
    Ticket,
    TicketEvent,
    TicketParticipant,
)


@dataclass(frozen=True)
class Viewer:
    """An agent who sees only their own, their groups' and unassigned tickets."""

    agent_id: int
    group_ids: frozenset[int]


@dataclass(frozen=True)
class TicketFilter:
    status: Status | None = None
    priority: Priority | None = None
    assignee: str | None = None
    customer: str | None = None
    viewer: Viewer | None = None
    statuses: tuple[Status, ...] = ()  # any of these
    category: str | None = None
    tag: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None  # not included


URGENCY = case(
    {Priority.URGENT.value: 0, Priority.HIGH.value: 1, Priority.MEDIUM.value: 2},
    value=Ticket.priority,
    else_=3,
)


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
    total: int
    page: int
    pages: int
    limit: int

    def as_json(self) -> dict[str, Any]:
        return {
            "tickets": [_jsonable(asdict(r)) for r in self.rows],
            "total": self.total,
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


def _assignee_label(agent: Agent | None, group: Group | None) -> str:
    if agent is not None:
        return agent.email
    if group is not None:
        return f"group:{group.name}"
    return ""


def _row(ticket: Ticket) -> TicketRow:
    return TicketRow(
        number=ticket.number,
        subject=ticket.subject,
        status=ticket.status.value,
        priority=ticket.priority.value,
        category=ticket.category,
        customer=ticket.customer.email,
        assignee=_assignee_label(ticket.assignee_agent, ticket.assignee_group),
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
    )


def _filtered(query: Select[Any], where: TicketFilter) -> Select[Any]:
    if where.status is not None:
        query = query.where(Ticket.status == where.status)
    if where.priority is not None:
        query = query.where(Ticket.priority == where.priority)
    if where.statuses:
        query = query.where(Ticket.status.in_(where.statuses))
    if where.category:
        query = query.where(Ticket.category == where.category.lower())
    if where.tag:  # tags are a JSON list of words: the word, quoted, in its text
        query = query.where(cast(Ticket.tags, String).like(f'%"{where.tag.lower()}"%'))
    if where.created_from is not None:
        query = query.where(Ticket.created_at >= where.created_from)
    if where.created_to is not None:
        query = query.where(Ticket.created_at < where.created_to)
    if where.customer:
        query = query.join(Customer, Ticket.customer_id == Customer.id).where(
            Customer.email == where.customer.lower()
        )
    if where.assignee:
        query = _by_assignee(query, where.assignee.strip())
    if where.viewer is not None:
        query = query.where(
            or_(
                Ticket.assignee_agent_id == where.viewer.agent_id,
                Ticket.assignee_group_id.in_(where.viewer.group_ids),
                and_(Ticket.assignee_agent_id.is_(None), Ticket.assignee_group_id.is_(None)),
            )
        )
    return query


def _by_assignee(query: Select[Any], assignee: str) -> Select[Any]:
    if assignee.lower() in ("none", "unassigned"):
        return query.where(Ticket.assignee_agent_id.is_(None), Ticket.assignee_group_id.is_(None))
    if assignee.lower().startswith("group:"):
        group = aliased(Group)
        return query.join(group, Ticket.assignee_group_id == group.id).where(
            func.lower(group.name) == assignee[6:].lower()
        )
    agent = aliased(Agent)
    return query.join(agent, Ticket.assignee_agent_id == agent.id).where(
        or_(agent.email == assignee.lower(), func.lower(agent.name) == assignee.lower())
    )


def list_tickets(
    session: Session,
    where: TicketFilter,
    page: int = 1,
    limit: int = 20,
    urgent_first: bool = False,
) -> Page:
    """Tickets matching ``where``, one page of them with the totals: newest first, or (with
    ``urgent_first``) by priority, then oldest first."""
    limit = max(1, min(limit, 500))
    total = session.scalar(_filtered(select(func.count(Ticket.id)), where)) or 0
    pages = max(1, math.ceil(total / limit))
    page = max(1, page)
    order = (
        (URGENCY, Ticket.created_at, Ticket.id)
        if urgent_first
        else (Ticket.created_at.desc(), Ticket.id.desc())
    )
    tickets = session.scalars(
        _filtered(select(Ticket), where).order_by(*order).offset((page - 1) * limit).limit(limit)
    )
    return Page([_row(t) for t in tickets], total, page, pages, limit)


def ticket_detail(session: Session, number: str) -> TicketDetail | None:
    ticket = session.scalar(select(Ticket).where(Ticket.number == number.strip().upper()))
    if ticket is None:
        return None
    participants = session.scalars(
        select(Customer.email)
        .join(TicketParticipant, TicketParticipant.customer_id == Customer.id)
        .where(TicketParticipant.ticket_id == ticket.id)
        .order_by(Customer.email)
    )
    linked = session.get(Ticket, ticket.linked_ticket_id) if ticket.linked_ticket_id else None
    return TicketDetail(
        ticket=_row(ticket),
        description=ticket.description,
        tags=list(ticket.tags),
        external_ref=ticket.external_ref,
        participants=list(participants),
        linked_ticket=linked.number if linked else "",
        resolution_notes=ticket.resolution_notes,
        first_response_due=ticket.first_response_due,
        resolution_due=ticket.resolution_due,
        history=history(session, ticket.id),
        next_response_due=ticket.next_response_due,
        escalated_at=ticket.escalated_at,
    )


def history(session: Session, ticket_id: int) -> list[HistoryEntry]:
    """Every event of the ticket, oldest first, with the text of the message it concerns."""
    rows = session.execute(
        select(TicketEvent, Message)
        .outerjoin(Message, TicketEvent.message_id == Message.id)
        .where(TicketEvent.ticket_id == ticket_id)
        .order_by(TicketEvent.id)
    ).all()
    names = attachment_names(session, [m.id for _, m in rows if m is not None])
    return [
        HistoryEntry(
            at=event.created_at,
            kind=event.kind.value,
            actor=event.actor,
            before=dict(event.before),
            after=dict(event.after),
            message=message.body if message else "",
            message_kind=message.kind.value if message else "",
            attachments=names.get(message.id, []) if message else [],
            message_verified=message.verified if message else True,
        )
        for event, message in rows
    ]


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
