"""The people a ticket's replies go to besides its customer (To and Cc of their mails)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.app.tickets import Actor, record
from helpdesk.domain.vocabulary import EventKind
from storage.models import Customer, Ticket, TicketParticipant


def participant_emails(session: Session, ticket: Ticket) -> set[str]:
    """Who the ticket's replies go to: its customer and its participants."""
    if ticket.id is None:  # opened in this unit of work: nobody else yet
        return {ticket.customer.email}
    rows = session.scalars(
        select(Customer.email)
        .join(TicketParticipant, TicketParticipant.customer_id == Customer.id)
        .where(TicketParticipant.ticket_id == ticket.id)
    )
    return {ticket.customer.email, *rows}


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
