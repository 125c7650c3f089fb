"""The helpdesk's tables, in SQLAlchemy 2.0 typed style, by subject in ``storage.tables`` (their
base and types: ``storage.base``). Importing this module maps them all, so that every
relationship resolves whichever table a caller needs."""

from __future__ import annotations

from storage.tables.hooks import Webhook, WebhookDelivery
from storage.tables.mail import Heartbeat, ImapMailbox, InboundMail, InboundRaw, Outbox, Timer
from storage.tables.people import (
    Agent,
    ApiToken,
    BusinessCalendar,
    Customer,
    Group,
    GroupMember,
    SlaPolicy,
)
from storage.tables.tickets import (
    Blob,
    Message,
    MessageAttachment,
    OrderLookup,
    Ticket,
    TicketEvent,
    TicketParticipant,
    TicketTag,
)

__all__ = [
    "Agent",
    "ApiToken",
    "Blob",
    "BusinessCalendar",
    "Customer",
    "Group",
    "GroupMember",
    "Heartbeat",
    "ImapMailbox",
    "InboundMail",
    "InboundRaw",
    "Message",
    "MessageAttachment",
    "OrderLookup",
    "Outbox",
    "SlaPolicy",
    "Ticket",
    "TicketEvent",
    "TicketParticipant",
    "TicketTag",
    "Timer",
    "Webhook",
    "WebhookDelivery",
]
