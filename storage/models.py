"""The helpdesk's tables, in SQLAlchemy 2.0 typed style (their base and types: `storage.base`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.domain.vocabulary import (
    AuthorKind,
    EventKind,
    MailStatus,
    MessageKind,
    OutboxStatus,
    Priority,
    Role,
    Status,
    TimerStatus,
)
from storage.base import Base


class Customer(Base):
    """A person outside the team: a ticket's requester or a participant CC'd on it."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    company: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    blocked_until: Mapped[datetime | None]
    block_reason: Mapped[str] = mapped_column(Text, default="")
    bouncing: Mapped[bool] = mapped_column(Boolean, default=False)
    bounce_reason: Mapped[str] = mapped_column(Text, default="")


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(default=Role.AGENT)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]

    groups: Mapped[list[Group]] = relationship(secondary="group_members", back_populates="agents")


class Group(Base):
    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime]

    agents: Mapped[list[Agent]] = relationship(secondary="group_members", back_populates="groups")


class GroupMember(Base):
    __tablename__ = "group_members"

    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), primary_key=True)


class SlaPolicy(Base):
    """First-response and resolution targets, one row per priority."""

    __tablename__ = "sla_policies"

    priority: Mapped[Priority] = mapped_column(primary_key=True)
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(
            "assignee_agent_id IS NULL OR assignee_group_id IS NULL", name="one_assignee"
        ),
        Index(None, "status", "created_at"),
        Index(None, "customer_id", "created_at"),
        Index(None, "assignee_agent_id"),
        Index(None, "assignee_group_id"),
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
    resolution_due: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    first_responded_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    customer: Mapped[Customer] = relationship()
    assignee_agent: Mapped[Agent | None] = relationship()
    assignee_group: Mapped[Group | None] = relationship()


class TicketParticipant(Base):
    """A further address on the ticket (CC'd by the customer); hears public replies."""

    __tablename__ = "ticket_participants"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)

    ticket: Mapped[Ticket] = relationship()
    customer: Mapped[Customer] = relationship()


class InboundRaw(Base):
    """The bytes of an inbound mail, in a table of their own: the mail's row is updated when it
    is processed, and SQLite rewrites a whole row on update, blob and all (measured: with the
    bytes in the row, that update was 8% of the processor's time)."""

    __tablename__ = "inbound_raws"

    mail_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("inbound_mails.id"),
        primary_key=True,
    )
    raw: Mapped[bytes] = mapped_column(LargeBinary)


class InboundMail(Base):
    """A raw mail exactly as accepted, with the envelope; written before the SMTP 250. Its bytes
    are in ``inbound_raws`` (``raw``)."""

    __tablename__ = "inbound_mails"
    __table_args__ = (Index(None, "status", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(16))
    peer: Mapped[str] = mapped_column(String(200), default="")
    envelope_from: Mapped[str] = mapped_column(String(320), default="")
    envelope_to: Mapped[list[str]] = mapped_column(default=list)
    message_id: Mapped[str] = mapped_column(String(998), default="")
    from_address: Mapped[str] = mapped_column(String(320), default="")
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[MailStatus] = mapped_column(default=MailStatus.RECEIVED)
    outcome: Mapped[str] = mapped_column(String(32), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    processed_at: Mapped[datetime | None]

    ticket: Mapped[Ticket | None] = relationship()
    content: Mapped[InboundRaw] = relationship(cascade="all, delete-orphan")

    @property
    def raw(self) -> bytes:
        return self.content.raw

    @raw.setter
    def raw(self, value: bytes) -> None:
        self.content = InboundRaw(raw=value)


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


class Outbox(Base):
    """A mail to send, written in the same transaction as the change that causes it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(None, "status", "next_attempt_at"),
        Index(None, "ticket_id"),
        Index(None, "recipient", "template", "created_at"),  # the acknowledgement rate limit
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_events.id"))
    quoted_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    template: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(320))
    audience: Mapped[str] = mapped_column(String(16))
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[OutboxStatus] = mapped_column(default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    smtp_reply: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    ticket: Mapped[Ticket | None] = relationship()
    event: Mapped[TicketEvent | None] = relationship()
    quoted: Mapped[Message | None] = relationship()  # delivery sends its attachments


class Timer(Base):
    """A timeout due at a time, for one ticket (the table is ready; nothing schedules one yet)."""

    __tablename__ = "timers"
    __table_args__ = (
        Index(None, "status", "due_at"),
        UniqueConstraint("ticket_id", "kind", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime]
    status: Mapped[TimerStatus] = mapped_column(default=TimerStatus.PENDING)
    fired_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Heartbeat(Base):
    """When a periodic actor last ran, so a lost schedule (a wiped broker) can be noticed."""

    __tablename__ = "heartbeats"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime]
