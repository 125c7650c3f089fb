"""The agent queue's colours: where each listed ticket stands against its SLA, now."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from helpdesk.app import sla
from helpdesk.app.settings import Settings
from helpdesk.domain.timers import standing
from helpdesk.domain.timers.sla import Targets
from helpdesk.domain.vocabulary import Priority
from storage.models import Ticket


def standings(
    session: Session, settings: Settings, numbers: Iterable[str], now: datetime
) -> dict[str, standing.Seen]:
    """By ticket number: one query for the page's tickets, one for each priority's targets."""
    wanted = list(numbers)
    if not wanted:
        return {}
    found = session.scalars(
        select(Ticket).where(Ticket.number.in_(wanted)).options(selectinload(Ticket.assignee_agent))
    )
    targets: dict[Priority, Targets | None] = {}
    seen = {}
    for ticket in found:
        if ticket.priority not in targets:
            targets[ticket.priority] = sla.targets(session, ticket.priority)
        seen[ticket.number] = standing.seen(
            sla.facts(ticket), targets[ticket.priority], settings.sla_warning_ratio, now
        )
    return seen
