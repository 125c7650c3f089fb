"""Writing tickets: the few operations every change is made of, each recording its event.

They run inside the caller's unit of work and never commit.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.domain.vocabulary import AuthorKind, EventKind, MessageKind, Priority, Status
from storage.models import (
    Agent,
    Blob,
    Customer,
    Message,
    MessageAttachment,
    SlaPolicy,
    Ticket,
    TicketEvent,
    TicketParticipant,
)

if TYPE_CHECKING:  # the pipeline imports this module: a runtime import would be a cycle
    from helpdesk.domain.mail.message import Attachment

MAX_SUBJECT = 250
NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class Actor:
    kind: AuthorKind
    label: str
    agent_id: int | None = None  # the agent's id when an agent acts

    @classmethod
    def system(cls) -> Actor:
        return cls(AuthorKind.SYSTEM, "system")


def new_number() -> str:
    """Six random symbols of 32: one read of the system's randomness (a byte modulo 32 is
    uniform), not one per symbol."""
    return "TKT-" + "".join(NUMBER_ALPHABET[byte % 32] for byte in secrets.token_bytes(6))


def active_agents(session: Session) -> dict[str, Agent]:
    """Every active agent by email, read once per unit of work (a batch of mails shares it)."""
    agents: dict[str, Agent] | None = session.info.get("active_agents")
    if agents is None:
        agents = {a.email: a for a in session.scalars(select(Agent).where(Agent.active))}
        session.info["active_agents"] = agents
    return agents


def sla_policy(session: Session, priority: Priority) -> SlaPolicy | None:
    policies: dict[Priority, SlaPolicy] | None = session.info.get("sla")
    if policies is None:
        policies = {p.priority: p for p in session.scalars(select(SlaPolicy))}
        session.info["sla"] = policies
    return policies.get(priority)


V = TypeVar("V")


def _read_ahead(
    session: Session,
    name: str,
    keys: Iterable[str],
    absent: V,
    lookup: Callable[[set[str]], Iterable[tuple[str, V]]],
) -> dict[str, V]:
    """A lookup kept for the unit of work under ``name``: the keys not known yet are read in
    one query (``lookup``); a key not found is kept as ``absent``. The unit of work updates it
    as it adds rows, so that they are found without a flush."""
    known: dict[str, V] = session.info.setdefault(name, {})
    wanted = {key for key in keys if key not in known}
    if wanted:
        known.update(dict.fromkeys(wanted, absent))
        with session.no_autoflush:
            known.update(lookup(wanted))
    return known


def known_customers(session: Session, emails: Iterable[str] = ()) -> dict[str, Customer | None]:
    """The customers this unit of work has looked up or created, by email; None: looked up and
    not found. A batch of mails reads its senders once (``pipeline.preload``) and a customer
    created by one mail is found by the next without a flush."""

    def lookup(wanted: set[str]) -> Iterable[tuple[str, Customer | None]]:
        return (
            (c.email, c)
            for c in session.scalars(select(Customer).where(Customer.email.in_(wanted)))
        )

    return _read_ahead(session, "customers", emails, None, lookup)


def stored_blobs(session: Session, digests: Iterable[str] = ()) -> dict[str, bool]:
    """Whether each attachment content looked up in this unit of work is stored, flushed or not
    (a pending one is not in the table yet)."""

    def lookup(wanted: set[str]) -> Iterable[tuple[str, bool]]:
        return (
            (d, True) for d in session.scalars(select(Blob.sha256).where(Blob.sha256.in_(wanted)))
        )

    return _read_ahead(session, "blobs", digests, False, lookup)


def find_customer(session: Session, email: str) -> Customer | None:
    return known_customers(session, (email,))[email]


def customer_for(session: Session, email: str, name: str, now: datetime) -> Customer:
    """The customer with ``email``, created when new.

    Two workers creating the same customer at once make one of them fail on the unique key;
    the processor retries that mail, which then finds the customer.
    """
    found = find_customer(session, email)
    if found is not None:
        if name and not found.name:
            found.name = name[:200]
        return found
    return new_customer(session, email, name, now)


def new_customer(session: Session, email: str, name: str, now: datetime) -> Customer:
    """A customer the caller has just looked for and not found."""
    customer = Customer(email=email, name=name[:200], created_at=now)
    session.add(customer)
    known_customers(session)[email] = customer
    return customer


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
    recorded(session).append(event)
    return event


def first_public(session: Session) -> dict[Ticket, Message]:
    """The first public message of each ticket opened in this unit of work: what notifications
    quote, known without reading it back (or flushing to learn ids)."""
    firsts: dict[Ticket, Message] = session.info.setdefault("first_public", {})
    return firsts


def posted(session: Session) -> list[Message]:
    """The messages added in this unit of work so far, flushed or not."""
    messages: list[Message] = session.info.setdefault("posted", [])
    return messages


def recorded(session: Session) -> list[TicketEvent]:
    """The events recorded in this unit of work so far: what notifications derive from."""
    events: list[TicketEvent] = session.info.setdefault("events", [])
    return events


def open_ticket(
    session: Session,
    customer: Customer,
    subject: str,
    description: str,
    actor: Actor,
    now: datetime,
    linked: Ticket | None = None,
) -> Ticket:
    number = new_number()  # 32**6 numbers: a clash is a unique-key error, and the mail is retried
    sla = sla_policy(session, Priority.MEDIUM)
    if len(subject) > MAX_SUBJECT:  # a 130 KB header must not ride along in every notification
        subject = subject[: MAX_SUBJECT - 1] + "…"
    ticket = Ticket(
        number=number,
        subject=subject,
        description=description,
        status=Status.OPEN,
        priority=Priority.MEDIUM,
        category="general",
        customer=customer,
        tags=[],
        linked_ticket_id=linked.id if linked else None,
        first_response_due=now + timedelta(minutes=sla.first_response_minutes) if sla else None,
        resolution_due=now + timedelta(minutes=sla.resolution_minutes) if sla else None,
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    session.info.setdefault("opened", set()).add(ticket)
    after = {
        "number": number,
        "subject": subject,
        "status": Status.OPEN.value,
        "priority": Priority.MEDIUM.value,
        "customer": customer.email,
    }
    if linked is not None:
        after["linked_ticket"] = linked.number
    record(session, ticket, EventKind.TICKET_CREATED, actor, now, after=after)
    return ticket


def add_participants(
    session: Session, ticket: Ticket, customers: Iterable[Customer], actor: Actor, now: datetime
) -> None:
    customers = list(customers)
    if not customers:
        return
    known: set[int] = set()  # a ticket opened in this unit of work has nobody yet
    if ticket.id is not None:
        known.update(
            session.scalars(
                select(TicketParticipant.customer_id).where(
                    TicketParticipant.ticket_id == ticket.id
                )
            )
        )
    for customer in customers:
        if customer is ticket.customer or customer.id in known:
            continue
        if customer.id is not None:
            known.add(customer.id)
        session.add(TicketParticipant(ticket=ticket, customer=customer))
        record(
            session,
            ticket,
            EventKind.PARTICIPANT_ADDED,
            actor,
            now,
            after={"email": customer.email},
        )


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
) -> Message:
    message = Message(
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
    posted(session).append(message)
    if kind is MessageKind.PUBLIC and ticket in session.info.get("opened", ()):
        first_public(session).setdefault(ticket, message)
    for attachment in attachments:
        attach(session, message, attachment)
    ticket.updated_at = now
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
    if not stored[digest]:
        session.add(Blob(sha256=digest, size=len(attachment.content), content=attachment.content))
        stored[digest] = True
    message.attachments.append(
        MessageAttachment(
            blob_sha256=digest,
            filename=attachment.filename[:255],
            content_type=attachment.content_type[:255],
            size=len(attachment.content),
        )
    )


def set_status(
    session: Session, ticket: Ticket, status: Status, actor: Actor, now: datetime
) -> None:
    before = ticket.status
    if before is status:
        return
    ticket.status = status
    ticket.updated_at = now
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
        after={"assignee": label},
    )
    if label and ticket.status is Status.OPEN:
        set_status(session, ticket, Status.IN_PROGRESS, actor, now)


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
        sla = sla_policy(session, changes["priority"])
        if sla is not None:
            ticket.first_response_due = ticket.created_at + timedelta(
                minutes=sla.first_response_minutes
            )
            ticket.resolution_due = ticket.created_at + timedelta(minutes=sla.resolution_minutes)
    ticket.updated_at = now
    after = {name: _plain(value) for name, value in changes.items()}
    record(session, ticket, EventKind.TICKET_UPDATED, actor, now, before=before, after=after)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value
