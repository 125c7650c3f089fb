"""What the notification benchmark reads and writes in the helpdesk's database: where the time
of each mail went, the pending ack rows the throughput rounds deliver, and how they ended."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import make_msgid
from typing import Any

from notify_load import Sent
from notify_sink import Arrivals, norm_id
from sqlalchemy import and_, func, insert, select
from sqlalchemy.orm import Session

from helpdesk.domain.vocabulary import OutboxStatus
from storage.db import make_engine
from storage.models import Heartbeat, InboundMail, Outbox

ACK = "customer/ack"
# workers.actors.RECONCILE, not imported: with a stale editable install (``templates`` added since)
# importing workers.render from a script outside the repository root fails.
RECONCILE = "reconcile"


@dataclass
class Stages:
    """Where the time went, from the rows: 250 -> pipeline start -> ack at the sink."""

    to_pipeline: list[float] = field(default_factory=list)
    pipeline_to_sink: list[float] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    ack_attempts: dict[int, int] = field(default_factory=dict)


def stages(url: str, sent: Sequence[Sent], arrivals: Arrivals) -> Stages:
    by_id = {s.mail.message_id: s for s in sent if s.code == 250}
    result = Stages()
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            rows = session.execute(
                select(
                    InboundMail.message_id,
                    InboundMail.processed_at,
                    InboundMail.status,
                    InboundMail.outcome,
                    Outbox.attempts,
                ).outerjoin(
                    Outbox, and_(Outbox.ticket_id == InboundMail.ticket_id, Outbox.template == ACK)
                )
            ).all()
    finally:
        engine.dispose()
    outcomes: Counter[str] = Counter()
    attempts: Counter[int] = Counter()
    for message_id, processed_at, status, outcome, tries in rows:
        record = by_id.get(norm_id(message_id))
        if record is None:
            continue  # warm-up mail
        outcomes[f"{status}/{outcome or '-'}"] += 1
        if tries is not None:
            attempts[int(tries)] += 1
        if processed_at is None:
            continue
        started = processed_at.timestamp()
        result.to_pipeline.append(started - record.replied)
        ack = arrivals.acks.get(record.mail.message_id)
        if ack is not None:
            result.pipeline_to_sink.append(ack.at - started)
    result.outcomes = dict(outcomes)
    result.ack_attempts = dict(sorted(attempts.items()))
    return result


def seed_outbox(url: str, count: int, run: str) -> tuple[list[int], list[str]]:
    """``count`` pending ack rows, contexts taken from real acks: their ids and Message-IDs."""
    engine = make_engine(url)
    try:
        with Session(engine) as session, session.begin():
            models = session.execute(
                select(Outbox.ticket_id, Outbox.event_id, Outbox.context)
                .where(Outbox.template == ACK)
                .order_by(Outbox.id)
                .limit(count)
            ).all()
            if not models:
                raise RuntimeError("no acknowledgement from the latency run to copy")
            now = datetime.now(UTC)
            rows: list[dict[str, Any]] = []
            for index in range(count):
                ticket_id, event_id, context = models[index % len(models)]
                message_id = make_msgid(f"throughput{index}.{run}", "example.com")
                rows.append(
                    {
                        "message_id": message_id,
                        "ticket_id": ticket_id,
                        "event_id": event_id,
                        "template": ACK,
                        "recipient": f"reader{index}.{run}@client{index % 17}.example.net",
                        "audience": "customer",
                        "context": context,
                        "status": OutboxStatus.PENDING,
                        "attempts": 0,
                        "next_attempt_at": now - timedelta(seconds=5),
                        "created_at": now,
                        "last_error": "",
                        "smtp_reply": "",
                    }
                )
            session.execute(insert(Outbox), rows)
            # A fresh reconcile heartbeat: the restarted workers' watchdog leaves it alone.
            session.merge(Heartbeat(name=RECONCILE, at=now))
        with Session(engine) as session:
            ids = session.scalars(
                select(Outbox.id).where(Outbox.message_id.in_([r["message_id"] for r in rows]))
            ).all()
        return list(ids), [norm_id(r["message_id"]) for r in rows]
    finally:
        engine.dispose()


def outbox_counts(url: str, message_ids: Sequence[str]) -> dict[str, int]:
    wanted = [f"<{m}>" for m in message_ids]
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            rows = session.execute(
                select(Outbox.status, func.count())
                .where(Outbox.message_id.in_(wanted))
                .group_by(Outbox.status)
            ).all()
            unsent = session.execute(
                select(
                    Outbox.id,
                    Outbox.attempts,
                    Outbox.next_attempt_at,
                    Outbox.lease_until,
                    Outbox.last_error,
                )
                .where(Outbox.message_id.in_(wanted), Outbox.status != OutboxStatus.SENT)
                .limit(5)
            ).all()
    finally:
        engine.dispose()
    for row in unsent:
        print(f"    not sent: {tuple(row)}")
    return {str(status): int(n) for status, n in rows}
