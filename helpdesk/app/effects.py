"""Carry out a checked command's change on its ticket: one case per kind of effect.

The commands decided (``helpdesk.domain.commands``); this only acts, through ``tickets`` so that
every change is recorded as an event and every status move is checked by the state machine.
"""

from __future__ import annotations

from datetime import datetime
from typing import assert_never

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.app import tickets
from helpdesk.domain import lifecycle
from helpdesk.domain.commands.effects import (
    Assign,
    Block,
    Change,
    Move,
    Retag,
    SetCategory,
    SetPriority,
    SetReference,
    Unblock,
)
from helpdesk.domain.vocabulary import ACTIVE_STATUSES, EventKind
from storage.models import Ticket


def carry_out(
    session: Session, ticket: Ticket, change: Change, actor: tickets.Actor, now: datetime
) -> None:
    match change:
        case Move(status, notes):
            if notes is not None:
                ticket.resolution_notes = notes
            tickets.set_status(session, ticket, status, actor, now)
        case Assign(agent_id, group_id, label):
            tickets.assign(session, ticket, agent_id, group_id, label, actor, now)
        case SetPriority(priority):
            tickets.update(session, ticket, {"priority": priority}, actor, now)
        case SetCategory(name):
            tickets.update(session, ticket, {"category": name}, actor, now)
        case SetReference(text):
            tickets.update(session, ticket, {"external_ref": text}, actor, now)
        case Retag(add, remove):
            kept = [t for t in ticket.tags if t not in remove]
            tags = kept + [t for t in add if t not in kept]
            tickets.update(session, ticket, {"tags": tags}, actor, now)
        case Block():
            _block(session, ticket, change, actor, now)
        case Unblock():
            _unblock(session, ticket, actor, now)
        case _:
            assert_never(change)


def _before(ticket: Ticket) -> dict[str, object]:
    customer = ticket.customer
    until = customer.blocked_until
    return {"blocked": customer.blocked, "until": until.isoformat() if until else ""}


def _unblock(session: Session, ticket: Ticket, actor: tickets.Actor, now: datetime) -> None:
    before, customer = _before(ticket), ticket.customer
    customer.blocked, customer.blocked_until, customer.block_reason = False, None, ""
    after = {"blocked": False, "customer": customer.email}
    tickets.record(
        session, ticket, EventKind.CUSTOMER_UNBLOCKED, actor, now, before=before, after=after
    )


def _block(
    session: Session, ticket: Ticket, block: Block, actor: tickets.Actor, now: datetime
) -> None:
    before, customer = _before(ticket), ticket.customer
    customer.blocked = True
    customer.blocked_until = now + block.length if block.length is not None else None
    customer.block_reason = block.reason
    until = customer.blocked_until
    after = {
        "blocked": True,
        "customer": customer.email,
        "until": until.isoformat() if until else "permanent",
        "reason": customer.block_reason,
    }
    tickets.record(
        session, ticket, EventKind.CUSTOMER_BLOCKED, actor, now, before=before, after=after
    )
    session.flush()  # the customer may be new in this unit of work: it needs its id
    active = select(Ticket).where(
        Ticket.customer_id == customer.id, Ticket.status.in_(ACTIVE_STATUSES)
    )
    for each in session.scalars(active):
        tickets.set_status(session, each, lifecycle.on_block(each.status), actor, now)
