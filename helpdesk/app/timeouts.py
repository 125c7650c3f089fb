"""What the lifecycle timers do when they fire: auto-resolve (and its reminder), auto-close.

Each move is the state machine's (``lifecycle``), made by the system, so the events and mails are
those of any other move: an automatic resolution tells the customer how to reopen the ticket.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from helpdesk.app import tickets
from helpdesk.domain import lifecycle
from helpdesk.domain.timers import auto_close, auto_resolve
from storage.models import Ticket


def act(session: Session, ticket: Ticket, kind: str, now: datetime) -> dict[str, Any] | None:
    """Carry out the timer ``kind``; a reminder returns what its notice to the customer says."""
    system = tickets.Actor.system()
    if kind == auto_resolve.RESOLVE:
        tickets.set_status(session, ticket, lifecycle.on_silence(ticket.status), system, now)
    elif kind == auto_close.CLOSE:
        tickets.set_status(
            session, ticket, lifecycle.on_resolved_long_enough(ticket.status), system, now
        )
    elif kind == auto_resolve.REMIND:
        return {"waiting_since": f"{ticket.sla_paused_at:%Y-%m-%d}" if ticket.sla_paused_at else ""}
    return None
