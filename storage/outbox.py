"""The outbox's claim statements: rows leased by one atomic UPDATE, so two copies of a job never
send a row twice, and the statements that mark a row sent or give a batch's rest back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, or_, select, update

from helpdesk.domain.vocabulary import OutboxStatus
from storage.models import Outbox


@dataclass(frozen=True)
class Claim:
    """What a delivery needs of a claimed row; ``attempts`` counts this one."""

    id: int
    template: str
    audience: str
    recipient: str
    message_id: str
    context: dict[str, Any]
    attempts: int
    created_at: datetime
    lease_until: datetime
    quoted_message_id: int | None


CLAIMED = (
    Outbox.id,
    Outbox.template,
    Outbox.audience,
    Outbox.recipient,
    Outbox.message_id,
    Outbox.context,
    Outbox.attempts,
    Outbox.created_at,
    Outbox.lease_until,
    Outbox.quoted_message_id,
)


CLAIMABLE = and_(
    Outbox.status == OutboxStatus.PENDING,
    Outbox.next_attempt_at <= bindparam("due", type_=Outbox.next_attempt_at.type),
    or_(
        Outbox.lease_until.is_(None),
        Outbox.lease_until < bindparam("now", type_=Outbox.lease_until.type),
    ),
)


LEASE = {
    "lease_until": bindparam("lease", type_=Outbox.lease_until.type),
    "attempts": Outbox.attempts + 1,
}


IS_CLAIMABLE = select(Outbox.id).where(Outbox.id == bindparam("own"), CLAIMABLE)


CLAIM_OWN = (
    update(Outbox).where(Outbox.id == bindparam("own"), CLAIMABLE).values(LEASE).returning(*CLAIMED)
)


MARK_SENT = (
    update(Outbox)
    .where(Outbox.id == bindparam("row"))
    .values(
        status=OutboxStatus.SENT,
        smtp_reply=bindparam("reply"),
        sent_at=bindparam("at", type_=Outbox.sent_at.type),
        lease_until=None,
        last_error="",
    )
)


RELEASE = (
    update(Outbox)
    .where(
        Outbox.id.in_(bindparam("rows", expanding=True)),
        Outbox.status == OutboxStatus.PENDING,
        Outbox.lease_until == bindparam("lease", type_=Outbox.lease_until.type),
    )
    .values(lease_until=None, attempts=Outbox.attempts - 1)
)


# Up to ``more`` due rows besides the own one, oldest due first, locked until the claim commits;
# rows locked by another claim in progress are passed over (PostgreSQL; SQLite writes one at a
# time). Picked by a statement of its own: as a subquery of the UPDATE, PostgreSQL may run it
# again for each row and skip the rows the UPDATE has just claimed, taking ever more rows.
OTHERS = (
    select(Outbox.id)
    .where(CLAIMABLE)
    .order_by(Outbox.next_attempt_at)
    .limit(bindparam("more"))
    .with_for_update(skip_locked=True)
)


CLAIM_MORE = (
    update(Outbox)
    .where(Outbox.id.in_(bindparam("others", expanding=True)), CLAIMABLE)
    .values(LEASE)
    .returning(*CLAIMED)
)


# SQLite: the own row and the others in one statement, a transaction of its own, so that the
# write lock is taken and released within one call (``storage.db.single_statements``): a claim
# in several statements may hold it while its thread waits for the interpreter lock, and the
# other writers back off, sleeping up to 100 ms at a time. The subquery runs once here.
DUE = Outbox.__table__.alias("due")


CLAIM_BATCH = (
    update(Outbox)
    .where(
        CLAIMABLE,
        or_(
            Outbox.id == bindparam("own"),
            Outbox.id.in_(
                select(DUE.c.id)
                .where(
                    DUE.c.id != bindparam("own"),
                    DUE.c.status == OutboxStatus.PENDING,
                    DUE.c.next_attempt_at <= bindparam("due", type_=Outbox.next_attempt_at.type),
                    or_(
                        DUE.c.lease_until.is_(None),
                        DUE.c.lease_until < bindparam("now", type_=Outbox.lease_until.type),
                    ),
                )
                .order_by(DUE.c.next_attempt_at)
                .limit(bindparam("more"))
            ),
        ),
    )
    .values(LEASE)
    .returning(*CLAIMED)
)


def claim_others(connection: Connection, params: dict[str, Any]) -> list[Claim]:
    picked = connection.scalars(OTHERS, params).all()
    if not picked:
        return []
    rows = connection.execute(CLAIM_MORE, params | {"others": picked})
    return sorted((Claim(*row) for row in rows), key=lambda claim: claim.id)
