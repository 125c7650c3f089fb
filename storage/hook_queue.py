"""The webhook deliveries' claim statements: a queue per hook and ticket, whose head alone can
be claimed, leased by one atomic UPDATE (as ``storage.outbox`` does for mail).

The head is the queue's oldest pending delivery: while it waits for its next attempt (the
receiver is down), the ones behind it wait too, so a receiver that comes back gets a ticket's
events in the order they happened; one given up on (failed) lets the next go. Two workers never
hold two deliveries of one queue at once: a leased head is still pending, so the delivery
behind it is no head.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Table,
    and_,
    bindparam,
    exists,
    or_,
    select,
    update,
)

from helpdesk.domain.vocabulary import OutboxStatus
from storage.models import WebhookDelivery

TABLE: Table = WebhookDelivery.__table__  # type: ignore[assignment]
NOW = bindparam("now", type_=WebhookDelivery.next_attempt_at.type)
LEASE = bindparam("lease", type_=WebhookDelivery.lease_until.type)


@dataclass(frozen=True)
class HookClaim:
    """What sending a claimed delivery needs; ``attempts`` counts this one."""

    id: int
    webhook_id: int
    event_id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    lease_until: datetime


def claimable(rows: FromClause) -> ColumnElement[bool]:
    """``rows`` (the table or an alias of it) due, unleased, and the head of its queue."""
    earlier = TABLE.alias("earlier")
    return and_(
        rows.c.status == OutboxStatus.PENDING,
        rows.c.next_attempt_at <= NOW,
        or_(rows.c.lease_until.is_(None), rows.c.lease_until < NOW),
        ~exists().where(
            earlier.c.webhook_id == rows.c.webhook_id,
            earlier.c.ticket_id == rows.c.ticket_id,
            earlier.c.status == OutboxStatus.PENDING,
            earlier.c.id < rows.c.id,
        ),
    )


CLAIMED = (
    TABLE.c.id,
    TABLE.c.webhook_id,
    TABLE.c.event_id,
    TABLE.c.kind,
    TABLE.c.payload,
    TABLE.c.attempts,
    TABLE.c.lease_until,
)
TAKE = {"lease_until": LEASE, "attempts": TABLE.c.attempts + 1}

ANY_DUE = select(TABLE.c.id).where(claimable(TABLE)).limit(1)

# PostgreSQL: the heads picked and locked by a statement of their own (rows another claim holds
# are passed over), then leased; as a subquery of the UPDATE it could be run again per row.
PICK = (
    select(TABLE.c.id)
    .where(claimable(TABLE))
    .order_by(TABLE.c.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True, of=TABLE)
)
CLAIM_PICKED = (
    update(TABLE)
    .where(TABLE.c.id.in_(bindparam("picked", expanding=True)), claimable(TABLE))
    .values(TAKE)
    .returning(*CLAIMED)
)

# SQLite: one statement, a transaction of its own (one writer at a time; the subquery runs once).
DUE = TABLE.alias("due")
CLAIM_ONE_STATEMENT = (
    update(TABLE)
    .where(
        TABLE.c.id.in_(
            select(DUE.c.id).where(claimable(DUE)).order_by(DUE.c.id).limit(bindparam("limit"))
        )
    )
    .values(TAKE)
    .returning(*CLAIMED)
)

MARK_SENT = (
    update(TABLE)
    .where(TABLE.c.id == bindparam("row"))
    .values(
        status=OutboxStatus.SENT,
        sent_at=bindparam("at", type_=WebhookDelivery.sent_at.type),
        lease_until=None,
        last_error="",
    )
)

# The rest only while the lease is still this claim's: one that ran out may be another's now.
HELD = and_(TABLE.c.id == bindparam("row"), TABLE.c.lease_until == LEASE)
MARK_RETRY = (
    update(TABLE)
    .where(HELD)
    .values(
        next_attempt_at=bindparam("at", type_=WebhookDelivery.next_attempt_at.type),
        last_error=bindparam("error"),
        lease_until=None,
    )
)
MARK_FAILED = (
    update(TABLE)
    .where(HELD)
    .values(status=OutboxStatus.FAILED, last_error=bindparam("error"), lease_until=None)
)
RELEASE = (
    update(TABLE)
    .where(TABLE.c.id == bindparam("row"), TABLE.c.lease_until == LEASE)
    .values(lease_until=None, attempts=TABLE.c.attempts - 1)
)


def claim(connection: Connection, now: datetime, lease: datetime, limit: int) -> list[HookClaim]:
    """Lease up to ``limit`` heads, oldest first (in the caller's transaction on PostgreSQL)."""
    params = {"now": now, "lease": lease, "limit": limit}
    if connection.dialect.name == "sqlite":
        rows = connection.execute(CLAIM_ONE_STATEMENT, params).all()
    else:
        picked = connection.scalars(PICK, params).all()
        if not picked:
            return []
        rows = connection.execute(CLAIM_PICKED, params | {"picked": picked}).all()
    return sorted((HookClaim(*row) for row in rows), key=lambda c: c.id)
