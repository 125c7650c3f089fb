"""Writing tickets: the few operations every change is made of, each recording its event.

They run inside the caller's unit of work and never commit.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from helpdesk.app import sla
from helpdesk.app.ticket_numbers import unused_number
from helpdesk.app.unit_of_work import stored_blobs, unit
from helpdesk.domain import credentials, lifecycle
from helpdesk.domain.mail.message import Attachment
from helpdesk.domain.vocabulary import AuthorKind, EventKind, MessageKind, Priority, Status
from storage.blobs_stream import StoredBlob, raw_range, store_base64
from storage.models import (
    Blob,
    Customer,
    Message,
    MessageAttachment,
    Ticket,
    TicketEvent,
)

MAX_SUBJECT = 250


@dataclass(frozen=True)
class Actor:
    kind: AuthorKind
    label: str
    agent_id: int | None = None  # the agent's id when an agent acts

    @classmethod
    def system(cls) -> Actor:
        return cls(AuthorKind.SYSTEM, "system")


def record(
    session: Session,
    ticket: Ticket,
    kind: EventKind,
    actor: Actor,
    now: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    message: Message | None = None,
) -> TicketEvent:
    event = TicketEvent(
        ticket=ticket,
        kind=kind,
        actor_kind=actor.kind,
        actor=actor.label,
        before=before or {},
        after=after or {},
        message=message,
        created_at=now,
    )
    session.add(event)
    unit(session).events.append(event)
    if actor.kind is AuthorKind.AGENT:
        ticket.agent_active_at = now  # escalation counts from here
    return event


def ticket_subject(subject: str) -> str:
    """The subject as a ticket keeps it: a 130 KB header must not ride along in every mail."""
    return subject if len(subject) <= MAX_SUBJECT else subject[: MAX_SUBJECT - 1] + "…"


def first_mail_text(subject: str, words: str) -> str:
    """What is looked at for secrets in a new ticket's first mail."""
    return f"{ticket_subject(subject)}\n{words}"


def open_ticket(
    session: Session,
    customer: Customer,
    subject: str,
    description: str,
    actor: Actor,
    now: datetime,
    linked: Ticket | None = None,
    first_words: str | None = None,
    scanned: credentials.Scanned | None = None,
) -> Ticket:
    """A new ticket, flagged (the ``credentials`` tag) when its first mail seems to hold a
    password or a key: ``first_words`` when the description is not that mail's text (a note);
    ``scanned``, that mail's text looked at ahead (``first_mail_text``)."""
    number = unused_number(session)
    subject = ticket_subject(subject)
    words = description if first_words is None else first_words
    secrets_seen = credentials.kinds_in(first_mail_text(subject, words), scanned)
    ticket = Ticket(
        number=number,
        subject=subject,
        description=description,
        status=Status.OPEN,
        priority=Priority.MEDIUM,
        category="general",
        customer=customer,
        tags=[credentials.TAG] if secrets_seen else [],
        linked_ticket_id=linked.id if linked else None,
        created_at=now,
        updated_at=now,
        sla_paused_seconds=0,
    )
    sla.set_dues(session, ticket)
    session.add(ticket)
    unit(session).opened.add(ticket)
    after: dict[str, Any] = {
        "number": number,
        "subject": subject,
        "status": Status.OPEN.value,
        "priority": Priority.MEDIUM.value,
        "customer": customer.email,
    }
    if linked is not None:
        after["linked_ticket"] = linked.number
    if secrets_seen:
        after["credentials"] = list(secrets_seen)
    record(session, ticket, EventKind.TICKET_CREATED, actor, now, after=after)
    return ticket


def add_message(
    session: Session,
    ticket: Ticket,
    kind: MessageKind,
    actor: Actor,
    body: str,
    now: datetime,
    *,
    customer: Customer | None = None,
    message_id: str = "",
    content_hash: str = "",
    inbound_mail_id: int | None = None,
    attachments: Iterable[Attachment] = (),
    verified: bool = True,
) -> Message:
    message = Message(
        verified=verified,
        ticket=ticket,
        kind=kind,
        author_kind=actor.kind,
        author_email=actor.label,
        customer=customer,
        agent_id=actor.agent_id,
        body=body,
        content_hash=content_hash,
        message_id=message_id,
        inbound_mail_id=inbound_mail_id,
        created_at=now,
    )
    session.add(message)
    work = unit(session)
    work.posted.append(message)
    if kind is MessageKind.PUBLIC and ticket in work.opened:
        work.first_public.setdefault(ticket, message)
    for attachment in attachments:
        attach(session, message, attachment)
    if work.first_public.get(ticket) is not message:  # the opening one is no response, even
        sla.on_message(session, ticket, kind, actor.kind, now)  # from an agent (on behalf)
    ticket.updated_at = max(ticket.updated_at or now, now)  # old mail (backfill) sets no clock back
    record(
        session,
        ticket,
        EventKind.TICKET_COMMENTED,
        actor,
        now,
        after={"kind": kind.value, "chars": len(body)},
        message=message,
    )
    return message


def attach(session: Session, message: Message, attachment: Attachment) -> None:
    digest = attachment.sha256
    stored = stored_blobs(session, (digest,))
    if not stored[digest] and attachment.deferred and message.inbound_mail_id is not None:
        start, end = attachment.encoded_at or (0, 0)
        mail_id, connection = message.inbound_mail_id, session.connection()
        known = StoredBlob(digest, attachment.size)
        store_base64(connection, lambda: raw_range(connection, mail_id, start, end), known)
    elif attachment.deferred:  # never stored empty under a digest others would be given
        raise ValueError(f"{attachment.filename}: its content is only in a stored mail")
    elif not stored[digest]:
        session.add(Blob(sha256=digest, size=attachment.size, content=attachment.content))
    stored[digest] = True
    message.attachments.append(
        MessageAttachment(
            blob_sha256=digest,
            filename=attachment.filename[:255],
            content_type=attachment.content_type[:255],
            size=attachment.size,
        )
    )


def set_status(
    session: Session, ticket: Ticket, status: Status, actor: Actor, now: datetime
) -> None:
    before = ticket.status
    if before is status:
        return
    lifecycle.require_move(before, status)
    ticket.status = status
    ticket.updated_at = max(ticket.updated_at or now, now)
    sla.on_status(session, ticket, before, now)
    if status is Status.RESOLVED:
        ticket.resolved_at = now
    if status is Status.CLOSED:
        ticket.closed_at = now
    kind = {
        Status.RESOLVED: EventKind.TICKET_RESOLVED,
        Status.CLOSED: EventKind.TICKET_CLOSED,
    }.get(status, EventKind.TICKET_STATUS_CHANGED)
    record(
        session,
        ticket,
        kind,
        actor,
        now,
        before={"status": before.value},
        after={"status": status.value},
    )


def assign(
    session: Session,
    ticket: Ticket,
    agent_id: int | None,
    group_id: int | None,
    label: str,
    actor: Actor,
    now: datetime,
    reason: str = "",
) -> None:
    """Assign to one agent or one group (never both: setting one clears the other)."""
    before = assignee_label(ticket)
    ticket.assignee_agent_id, ticket.assignee_group_id = agent_id, group_id
    session.flush()
    session.refresh(ticket, ["assignee_agent", "assignee_group"])
    ticket.updated_at = now
    record(
        session,
        ticket,
        EventKind.TICKET_ASSIGNED,
        actor,
        now,
        before={"assignee": before},
        after={"assignee": label} | ({"reason": reason} if reason else {}),
    )
    if label:
        set_status(session, ticket, lifecycle.on_assign(ticket.status), actor, now)


def assignee_label(ticket: Ticket) -> str:
    if ticket.assignee_agent is not None:
        return ticket.assignee_agent.email
    if ticket.assignee_group is not None:
        return f"group:{ticket.assignee_group.name}"
    return ""


def update(
    session: Session, ticket: Ticket, changes: dict[str, Any], actor: Actor, now: datetime
) -> None:
    """Change plain fields (priority, category, tags, reference, rating) and record the event."""
    before = {name: _plain(getattr(ticket, name)) for name in changes}
    if before == {name: _plain(value) for name, value in changes.items()}:
        return
    for name, value in changes.items():
        setattr(ticket, name, value)
    if "priority" in changes:
        sla.set_dues(session, ticket)
    ticket.updated_at = now
    after = {name: _plain(value) for name, value in changes.items()}
    record(session, ticket, EventKind.TICKET_UPDATED, actor, now, before=before, after=after)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value
