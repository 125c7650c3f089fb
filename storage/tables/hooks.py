"""Webhooks: the hooks other services registered, and their outbox of deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.domain.vocabulary import EventKind, OutboxStatus
from storage.base import Base
from storage.tables.tickets import Ticket, TicketEvent


class Webhook(Base):
    """A URL told of the ticket events it asked for. The secret signs each delivery, so it is
    kept as it is (a digest could not sign); it is shown once, when the hook is added."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(default=list)
    secret: Mapped[str] = mapped_column(String(128))
    include_internal: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class WebhookDelivery(Base):
    """One event for one hook, written in the same transaction as the event; sent in order per
    hook and ticket (``storage.hook_queue``). Its status is one of the outbox's: pending, sent,
    failed."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index(None, "status", "next_attempt_at"),  # what is due
        Index(None, "webhook_id", "ticket_id", "status", "id"),  # an earlier one still pending
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("ticket_events.id"))  # receivers' key
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[EventKind]
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[OutboxStatus] = mapped_column(default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    ticket: Mapped[Ticket] = relationship()
    event: Mapped[TicketEvent] = relationship()
