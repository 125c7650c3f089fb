"""Deliver outbox rows: claim them, render them, hand them over, record what the other side said.

At-least-once job delivery meets at-most-once sending here: rows are claimed with a lease by an
atomic UPDATE, so two copies of the same job (a redelivery, a reconciler re-enqueue) never send
a row twice; a job whose row is sent, failed, not due or leased is skipped after one read, which
takes no write lock.

A job that claims its own row takes further due rows in the same transaction, with the same
lease, and sends them one after the other over the worker thread's connection: their own jobs,
when they come, cost that one read. How many: up to ``batch - 1``, as many as take about
``BATCH_SECONDS`` to send at the recent pace, so that with a slow smarthost the rows of a burst
still go out in parallel, one per worker thread. Each row is recorded as soon as the other side
has answered, exactly as its own job would have done, so the one window left, a crash after the
smarthost said 250 and before the row is marked, resends one mail with the same Message-ID, which
receivers recognise. A row is started only while half of the lease is still ahead; the rows left
then go back (unleased, their attempt not counted) for a job to be enqueued for each.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from jinja2 import TemplateError
from sqlalchemy import Connection, or_, select, update

from helpdesk.app import clock
from helpdesk.app.runtime import App
from helpdesk.domain.vocabulary import OutboxStatus
from storage.db import bookkeeping, reading, single_statements
from storage.models import Customer, Outbox
from storage.outbox import (
    CLAIM_BATCH,
    CLAIM_OWN,
    IS_CLAIMABLE,
    MARK_SENT,
    RELEASE,
    Claim,
    claim_others,
)
from workers.compose import WIRE, compose
from workers.drafts import Drafter
from workers.render import Renderer
from workers.transport import DeliveryError, Transport

log = logging.getLogger("helpdesk.delivery")
DISPLAY_NAME = "Support"
BATCH = 16  # rows one job may send at most: its own and the next due ones
BATCH_SECONDS = 0.1  # sending time one job takes on for other rows, at the recent pace
EARLY = timedelta(seconds=1)  # a delayed retry may wake a little before its row is due
MAX_BACKOFF = 6 * 3600.0
# What a row that cannot be turned into a mail raises (a header with a CR, a template that
# fails on its context): a permanent failure of that row, recorded, never retried.
COMPOSE_ERRORS = (ValueError, TypeError, LookupError, TemplateError)
SETTLED_MEMORY = 100_000  # settled row ids a worker process remembers


class Delivered(enum.StrEnum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    SKIPPED = "skipped"
    RELEASED = "released"  # claimed with a batch, not attempted: due again at once


@dataclass(frozen=True)
class Result:
    outbox_id: int
    state: Delivered
    retry_in: float = 0.0
    reply: str = ""


class Deliverer:
    """Delivers outbox rows for one worker process, with its renderer and transport."""

    def __init__(
        self, app: App, renderer: Renderer, transport: Transport, batch: int = BATCH
    ) -> None:
        settings = app.settings
        self.app = app
        self.renderer = renderer
        self.drafter = Drafter(app, renderer)
        self.transport = transport
        self.support = settings.support_addresses[0]
        self.lease = timedelta(seconds=settings.delivery_lease_seconds)
        self.budget = settings.delivery_lease_seconds / 2
        self.reader = reading(app.engine)
        self.bookkeeping = bookkeeping(app.engine)
        self.single = single_statements(self.bookkeeping)
        self._local = threading.local()
        self._settled: dict[int, None] = {}  # rows this process sent or gave up, oldest first
        self._settled_lock = threading.Lock()
        self.batch = batch
        self.pace = 0.0  # seconds per send, a moving average over this process's threads

    def deliver(self, outbox_id: int) -> list[Result]:
        """Deliver the row ``outbox_id`` and the rows claimed with it; its result comes first.

        The job of a row this process has sent (or given up) with another's batch needs no
        read: those states are final."""
        if outbox_id in self._settled:
            return [Result(outbox_id, Delivered.SKIPPED)]
        claims = self.claim(outbox_id, clock.now(self.app.settings))
        if not claims:
            return [Result(outbox_id, Delivered.SKIPPED)]
        started = time.monotonic()
        waiting = deque(claims)
        results: list[Result] = []
        try:
            while waiting and (not results or time.monotonic() - started < self.budget):
                results.append(self._deliver_one(waiting.popleft()))
        finally:
            if waiting:  # out of time, or the row before raised: the rest go back
                self._release(list(waiting))
        return results + [Result(claim.id, Delivered.RELEASED) for claim in waiting]

    def claim(self, outbox_id: int, now: datetime) -> list[Claim]:
        """Lease the row ``outbox_id`` for one attempt, and with it other due rows (see the module
        docstring); nothing when the row is sent, failed, not due or leased."""
        params = {"own": outbox_id, "now": now, "due": now + EARLY, "lease": now + self.lease}
        with self._one_statement() as connection:
            if connection.execute(IS_CLAIMABLE, params).first() is None:
                return []
        more = min(self.batch - 1, int(BATCH_SECONDS / max(self.pace, 1e-3)))
        if self.app.engine.dialect.name == "sqlite":
            with self._one_statement() as connection:
                rows = connection.execute(CLAIM_BATCH, params | {"more": more}).all()
            return sorted((Claim(*row) for row in rows), key=lambda c: (c.id != outbox_id, c.id))
        with self.bookkeeping.begin() as connection:
            own = connection.execute(CLAIM_OWN, params).first()
            if own is None:
                return []
            others = claim_others(connection, params | {"more": more}) if more else []
        return [Claim(*own), *others]

    def _deliver_one(self, claim: Claim) -> Result:
        try:
            draft = self.drafter.draft(claim)
            mail = compose(self.drafter.with_attachments(claim, draft), self.support, DISPLAY_NAME)
            data = mail.as_bytes(policy=WIRE)
        except COMPOSE_ERRORS as exc:  # the row is wrong, not the network: trying again won't help
            log.exception("%s: cannot compose %s", claim.message_id, claim.template)
            problem = DeliveryError(f"cannot compose the mail: {type(exc).__name__}: {exc}", True)
            return self._failed(claim, problem, bounced=False)
        started = time.monotonic()
        try:
            answer = self.transport.send(draft.reply_to, draft.recipient, data)
        except DeliveryError as exc:
            return self._failed(claim, exc)
        finally:
            self.pace += (time.monotonic() - started - self.pace) / 2
        with self._one_statement() as connection:
            sent = {"row": claim.id, "reply": answer[:2000], "at": clock.now(self.app.settings)}
            connection.execute(MARK_SENT, sent)
        self._settle(claim.id)
        log.info("%s: sent %s to %s", claim.message_id, claim.template, claim.recipient)
        return Result(claim.id, Delivered.SENT, reply=answer)

    def _settle(self, outbox_id: int) -> None:
        with self._settled_lock:
            self._settled[outbox_id] = None
            if len(self._settled) > SETTLED_MEMORY:
                del self._settled[next(iter(self._settled))]

    @contextmanager
    def _one_statement(self) -> Iterator[Connection]:
        """This thread's connection for statements that are each a transaction of their own
        (``storage.db.single_statements``), kept open: most jobs are one such read, and a pool
        checkout costs more than the read. A connection that fails is dropped."""
        connection: Connection | None = getattr(self._local, "connection", None)
        if connection is None or connection.invalidated:
            connection = self._local.connection = self.single.connect()
        try:
            yield connection
            connection.commit()
        except BaseException:
            self._local.connection = None
            connection.close()
            raise

    def _failed(self, claim: Claim, exc: DeliveryError, bounced: bool = True) -> Result:
        """Try again later, or give up: a permanent answer, or too many attempts. ``bounced``:
        the recipient's server refused it, so the customer is marked as bouncing."""
        settings = self.app.settings
        give_up = exc.permanent or claim.attempts >= settings.delivery_attempts
        delay = min(settings.delivery_backoff_seconds * 2 ** (claim.attempts - 1), MAX_BACKOFF)
        reply = exc.reply[:2000]
        row = update(Outbox).where(Outbox.id == claim.id)
        with self.app.engine.begin() as connection:
            if give_up:
                connection.execute(
                    row.values(
                        status=OutboxStatus.FAILED,
                        last_error=reply,
                        smtp_reply=reply,
                        lease_until=None,
                    )
                )
                if bounced:
                    connection.execute(
                        update(Customer)
                        .where(Customer.email == claim.recipient)
                        .values(bouncing=True, bounce_reason=reply)
                    )
            else:
                connection.execute(
                    row.values(
                        next_attempt_at=clock.now(settings) + timedelta(seconds=delay),
                        last_error=reply,
                        smtp_reply=reply,
                        lease_until=None,
                    )
                )
        log.warning("%s: delivery to %s failed: %s", claim.message_id, claim.recipient, exc.reply)
        if give_up:
            self._settle(claim.id)
            return Result(claim.id, Delivered.FAILED, reply=exc.reply)
        return Result(claim.id, Delivered.RETRY, retry_in=delay, reply=exc.reply)

    def _release(self, claims: list[Claim]) -> None:
        with self._one_statement() as connection:
            connection.execute(
                RELEASE, {"rows": [c.id for c in claims], "lease": claims[0].lease_until}
            )


def due_ids(app: App, now: datetime, limit: int = 1000) -> list[int]:
    """Pending rows whose time has come and that nobody holds: what the reconciler re-enqueues."""
    with app.sessions() as session:
        return list(
            session.scalars(
                select(Outbox.id)
                .where(
                    Outbox.status == OutboxStatus.PENDING,
                    Outbox.next_attempt_at <= now,
                    or_(Outbox.lease_until.is_(None), Outbox.lease_until < now),
                )
                .order_by(Outbox.id)
                .limit(limit)
            )
        )
