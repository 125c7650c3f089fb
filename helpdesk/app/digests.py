"""Digests: notifications held for an agent's digest (``Planner`` holds them) gathered, when
their period is over, into one mail per agent. The reconciler's pass does it; each agent's
digest is written in a transaction of its own that claims the held rows, so two workers never
send one twice. Each item keeps what its own mail would have said and its own reply address
(made at delivery, from the ticket and the agent in the item), so commands still work."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from helpdesk.app.runtime import App
from helpdesk.app.template_context import message_id_for
from helpdesk.domain import digests
from helpdesk.domain.notices import Template
from helpdesk.domain.vocabulary import OutboxStatus
from storage.models import Outbox

BATCH = 200  # agents one pass gathers for; the next pass takes the rest


def gather_due(app: App, now: datetime) -> list[int]:
    """Write the digests whose period is over; the ids of the new outbox rows."""
    with app.reading() as session:
        due = select(Outbox.recipient).where(
            Outbox.status == OutboxStatus.HELD, Outbox.next_attempt_at <= now
        )
        recipients = list(session.scalars(due.distinct().limit(BATCH)))
    return [row for each in recipients if (row := _gather(app, each, now)) is not None]


def _gather(app: App, recipient: str, now: datetime) -> int | None:
    domain = app.settings.support_addresses[0].rpartition("@")[2]
    with app.sessions.begin() as session:
        held = list(
            session.scalars(
                select(Outbox)
                .where(
                    Outbox.recipient == recipient,
                    Outbox.status == OutboxStatus.HELD,
                    Outbox.next_attempt_at <= now,
                )
                .order_by(Outbox.id)
                .with_for_update(skip_locked=True)
            )
        )
        if not held:
            return None  # another worker gathered them
        items = [_item(row) for row in held]
        count = len({item["ticket"]["number"] for item in items})
        digest = Outbox(
            message_id=message_id_for("digest", domain),
            template=Template.AGENT_DIGEST,
            recipient=recipient,
            audience=Template.AGENT_DIGEST.audience,
            context={
                "recipient_name": held[-1].context.get("recipient_name", ""),
                "subject": f"{len(items)} updates on {count} tickets",
                "subject_prefix": "Digest:",
                "items": items,
                "references": [],
            },
            next_attempt_at=now,
            created_at=now,
        )
        session.add(digest)
        session.flush()
        for row in held:
            row.status, row.digest_id = OutboxStatus.DIGESTED, digest.id
        return digest.id


def _item(row: Outbox) -> dict[str, Any]:
    context = row.context
    message = context.get("message") or {}
    return {
        "what": digests.GATHERED.get(Template(row.template), row.template),
        "at": f"{row.created_at:%Y-%m-%d %H:%M} UTC",
        "ticket": context.get("ticket", {}),
        "event": context.get("event", {}),
        "author": message.get("author", ""),
        "excerpt": digests.excerpt(str(message.get("body", ""))),
        "party": context.get("party", "a"),
        "party_id": context.get("party_id", 0),
    }
