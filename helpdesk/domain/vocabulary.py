"""The helpdesk's words: statuses, priorities, roles, kinds of message, author and event.

The ORM maps these (``storage.models``); every other layer names them from here.
"""

from __future__ import annotations

import enum


class Status(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    AWAITING_CUSTOMER = "awaiting_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


ACTIVE_STATUSES = (Status.OPEN, Status.IN_PROGRESS, Status.AWAITING_CUSTOMER)


class Priority(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class Role(enum.StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class MessageKind(enum.StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    SYSTEM = "system"


class AuthorKind(enum.StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"


class EventKind(enum.StrEnum):
    TICKET_CREATED = "ticket_created"
    TICKET_ASSIGNED = "ticket_assigned"
    TICKET_UPDATED = "ticket_updated"
    TICKET_STATUS_CHANGED = "ticket_status_changed"
    TICKET_COMMENTED = "ticket_commented"
    TICKET_RESOLVED = "ticket_resolved"
    TICKET_CLOSED = "ticket_closed"
    SLA_BREACHED = "sla_breached"
    TICKET_ESCALATED = "ticket_escalated"
    CUSTOMER_BLOCKED = "customer_blocked"
    CUSTOMER_UNBLOCKED = "customer_unblocked"
    PARTICIPANT_ADDED = "participant_added"
    BOUNCE_RECEIVED = "bounce_received"


class MailStatus(enum.StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    QUARANTINED = "quarantined"
    DROPPED = "dropped"  # quarantined, then set aside by an operator: kept for audit, not listed


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    HELD = "held"  # for the recipient's digest, due at next_attempt_at
    DIGESTED = "digested"  # sent within a digest (digest_id)
    SENT = "sent"
    FAILED = "failed"


class TimerStatus(enum.StrEnum):
    PENDING = "pending"
    FIRED = "fired"
    CANCELLED = "cancelled"


# A mail the IMAP poller could not take in whole: its source, and the first line of the header
# it stores in the mail's place (the pipeline's ``size`` stage quarantines it).
TOO_LARGE_SOURCE = "imap-too-large"
TOO_LARGE_HEADER = "X-Helpdesk-Too-Large"
# Old mail imported by ``helpdesk imap backfill``: threaded into tickets, but nobody is told and
# no timer is set (its SLA clocks ran out long ago).
BACKFILL_SOURCE = "imap-backfill"
IMAP_SOURCES = frozenset({"imap", BACKFILL_SOURCE})
