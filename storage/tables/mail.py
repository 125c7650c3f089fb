"""Mail in and out, and time: stored inbound mail, the outbox, timers, heartbeats."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.domain.vocabulary import MailStatus, OutboxStatus, TimerStatus
from storage.base import Base
from storage.tables.tickets import Message, Ticket, TicketEvent


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


class Outbox(Base):
    """A mail to send, written in the same transaction as the change that causes it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(None, "status", "next_attempt_at"),
        Index(None, "ticket_id"),
        Index(None, "recipient", "template", "created_at"),  # the answers to one address
        Index(None, "created_at"),  # the answers to anyone in the last hour (the cap)
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
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))  # sent within it

    ticket: Mapped[Ticket | None] = relationship()
    event: Mapped[TicketEvent | None] = relationship()
    quoted: Mapped[Message | None] = relationship()  # delivery sends its attachments


class Timer(Base):
    """A timeout due at a time, for one ticket: written with the change that sets it, fired
    once by whichever worker claims it (``helpdesk.app.timers``)."""

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

    ticket: Mapped[Ticket] = relationship()


class Heartbeat(Base):
    """When a periodic actor last ran, so a lost schedule (a wiped broker) can be noticed."""

    __tablename__ = "heartbeats"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime]


class ImapMailbox(Base):
    """How far the IMAP poller (or a backfill) has taken one mailbox: the folder's UIDVALIDITY
    and the last UID committed, so that a restart neither repeats nor skips mail. A backfill goes
    in date order, so its place is the (INTERNALDATE, UID) of the last mail it stored."""

    __tablename__ = "imap_mailboxes"

    mailbox: Mapped[str] = mapped_column(String(600), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger)
    last_date: Mapped[datetime | None]
    updated_at: Mapped[datetime]
