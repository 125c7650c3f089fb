"""Tickets and what happens on them: participants, messages with their attachments, events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Connection,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    delete,
    event,
    insert,
    inspect,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.domain.vocabulary import AuthorKind, EventKind, MessageKind, Priority, Status
from storage.base import Base
from storage.tables.people import Agent, Customer, Group

TAG_LENGTH = 100  # a longer tag is looked up by its first 100 characters
VIEW = ("assignee_agent_id", "assignee_group_id")


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(
            "assignee_agent_id IS NULL OR assignee_group_id IS NULL", name="one_assignee"
        ),
        # the list's filters, each in the newest-first order (``storage.listing``), with the
        # assignee columns, whose condition (an agent's view) is checked on the index entries
        Index("ix_tickets_created_at_view", "created_at", "id", *VIEW),
        Index("ix_tickets_status_view", "status", "created_at", "id", *VIEW),
        Index("ix_tickets_status_priority_view", "status", "priority", "created_at", "id", *VIEW),
        Index("ix_tickets_priority_view", "priority", "created_at", "id", *VIEW),
        Index("ix_tickets_category_view", "category", "created_at", "id", *VIEW),
        Index("ix_tickets_customer_view", "customer_id", "created_at", "id", *VIEW),
        Index(None, "assignee_agent_id", "created_at", "id"),
        # a group's tickets have no agent (one_assignee): (g, NULL) and (NULL, NULL) prefixes
        Index(None, "assignee_group_id", "assignee_agent_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    subject: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[Status] = mapped_column(default=Status.OPEN)
    priority: Mapped[Priority] = mapped_column(default=Priority.MEDIUM)
    category: Mapped[str] = mapped_column(String(64), default="general")
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    assignee_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    assignee_group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    tags: Mapped[list[str]] = mapped_column(default=list)
    external_ref: Mapped[str] = mapped_column(String(200), default="")
    linked_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    resolution_notes: Mapped[str] = mapped_column(Text, default="")
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    first_response_due: Mapped[datetime | None]
    next_response_due: Mapped[datetime | None]  # a customer's reply waits for an answer until
    resolution_due: Mapped[datetime | None]  # moved on by the time paused, when it resumes
    sla_paused_at: Mapped[datetime | None]  # waiting for the customer: resolution does not run
    sla_paused_seconds: Mapped[int] = mapped_column(default=0, server_default="0")
    agent_active_at: Mapped[datetime | None]  # an agent's last reply, note or change
    escalated_at: Mapped[datetime | None]  # unattended: the supervisors were told
    team_turn_at: Mapped[datetime | None]  # back with the team (the customer answered, reopened)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    first_responded_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    customer: Mapped[Customer] = relationship()
    assignee_agent: Mapped[Agent | None] = relationship()
    assignee_group: Mapped[Group | None] = relationship()


class TicketTag(Base):
    """A ticket's tag, one row each: what the tag filter reads, in the list's order by its
    copy of the ticket's creation time, with copies of its assignee columns so that an agent's
    view is checked on the tag's index (a popular tag's tickets were each looked up to know
    whether the agent may see it: 80 ms to count a thousand at 1M tickets). ``Ticket.tags`` is
    the ticket's own list (in its order); these rows follow it and its assignee in the same
    flush (``_follow_ticket``), whoever changes them."""

    __tablename__ = "ticket_tags"
    __table_args__ = (Index("ix_ticket_tags_view", "tag", "created_at", "ticket_id", *VIEW),)

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(TAG_LENGTH), primary_key=True)
    created_at: Mapped[datetime]  # the ticket's (never changed): a tag's tickets newest first
    assignee_agent_id: Mapped[int | None]  # the ticket's
    assignee_group_id: Mapped[int | None]


def tag_key(tag: str) -> str:
    """How a tag is kept and looked up in ``ticket_tags``."""
    return tag.strip().lower()[:TAG_LENGTH]


def _tag_rows(ticket: Ticket) -> list[dict[str, Any]]:
    keys = dict.fromkeys(tag_key(t) for t in ticket.tags or ())
    copied = {
        "created_at": ticket.created_at,
        **{column: getattr(ticket, column) for column in VIEW},
    }
    return [{"ticket_id": ticket.id, "tag": key, **copied} for key in keys if key]


@event.listens_for(Ticket, "after_insert")
def _insert_tags(_mapper: Any, connection: Connection, ticket: Ticket) -> None:
    if rows := _tag_rows(ticket):
        connection.execute(insert(TicketTag), rows)


@event.listens_for(Ticket, "after_update")
def _follow_ticket(_mapper: Any, connection: Connection, ticket: Ticket) -> None:
    state = inspect(ticket).attrs
    changed = ("tags", *VIEW, "assignee_agent", "assignee_group")  # columns or relationships
    if not any(state[name].history.has_changes() for name in changed):
        return
    connection.execute(delete(TicketTag).where(TicketTag.ticket_id == ticket.id))
    if rows := _tag_rows(ticket):
        connection.execute(insert(TicketTag), rows)


class TicketParticipant(Base):
    """A further address on the ticket (CC'd by the customer); hears public replies."""

    __tablename__ = "ticket_participants"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)

    ticket: Mapped[Ticket] = relationship()
    customer: Mapped[Customer] = relationship()


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index(None, "ticket_id", "id"),
        Index(None, "message_id"),
        Index(None, "author_email", "content_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[MessageKind]
    author_kind: Mapped[AuthorKind]
    author_email: Mapped[str] = mapped_column(String(320), default="")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    body: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    message_id: Mapped[str] = mapped_column(String(998), default="")
    inbound_mail_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_mails.id"))
    # False: the sender was only named (From:), not proven by a reply address issued to them
    verified: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime]

    attachments: Mapped[list[MessageAttachment]] = relationship(
        order_by="MessageAttachment.id", lazy="selectin"
    )
    ticket: Mapped[Ticket] = relationship()
    customer: Mapped[Customer | None] = relationship()


class Blob(Base):
    """Attachment content, stored once by its SHA-256."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class MessageAttachment(Base):
    __tablename__ = "message_attachments"
    __table_args__ = (Index(None, "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)


class TicketEvent(Base):
    """One change of a ticket, with who made it and the values before and after."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index(None, "ticket_id", "id"), Index(None, "kind", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[EventKind]
    actor_kind: Mapped[AuthorKind]
    actor: Mapped[str] = mapped_column(String(320), default="")
    before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(default=dict)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    created_at: Mapped[datetime]

    ticket: Mapped[Ticket] = relationship()
    message: Mapped[Message | None] = relationship()


class OrderLookup(Base):
    """What the order service said about a reference (``HELPDESK_ORDER_LOOKUP_URL``): kept so
    that a slow or absent service costs a ticket nothing, and asked again later."""

    __tablename__ = "order_lookups"
    __table_args__ = (Index(None, "status", "checked_at"),)

    ref: Mapped[str] = mapped_column(String(200), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # found, not_found, unavailable
    summary: Mapped[str] = mapped_column(Text, default="")
    checked_at: Mapped[datetime]
