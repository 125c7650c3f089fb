"""Turns stored mail into tickets, one mail per unit of work, in arrival order.

A mail whose processing raises is quarantined with the reason and the traceback, and can be
replayed (``helpdesk mail replay``). At start the backlog left in ``received`` is taken first, so a
crash between the 250 and the processing loses nothing.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from helpdesk.app import clock, pipeline
from helpdesk.app.pipeline.context import Env, MailContext, Outcome
from helpdesk.app.runtime import App
from helpdesk.app.unit_of_work import unit
from helpdesk.domain.vocabulary import MailStatus
from storage import spool
from storage.db import inbound_turn, reading
from storage.models import InboundMail
from workers.decoder import Decoder, envelope_of

log = logging.getLogger("helpdesk.processor")
BATCH = 200
BATCH_SECONDS = 0.1  # how long one unit of work may hold SQLite's write lock (delivery waits)
Dispatch = Callable[[list[int]], None]


@dataclass(frozen=True)
class Processed:
    outcome: Outcome
    outbox_ids: list[int]
    mail_id: int | None = None
    timers: list[tuple[int, datetime]] = field(default_factory=list)  # id and due time


Arm = Callable[[list[tuple[int, datetime]]], None]


def no_arm(timers: list[tuple[int, datetime]]) -> None:
    """For callers that leave the timers to the reconciler."""


def no_dispatch(outbox_ids: list[int]) -> None:
    """For callers that leave the outbox to the reconciler."""


def _claim(session: Session, mail_ids: list[int]) -> dict[int, InboundMail]:
    """The mails of ``mail_ids`` still waiting, locked for this unit of work (others skip them)."""
    mails = session.scalars(
        select(InboundMail)
        .where(InboundMail.id.in_(mail_ids), InboundMail.status == MailStatus.RECEIVED)
        .with_for_update(skip_locked=True)
    )
    return {mail.id: mail for mail in mails}


def _run_one(
    app: App,
    session: Session,
    mail: InboundMail | None,
    ready: MailContext | None = None,
) -> MailContext | None:
    """The pipeline on one claimed mail inside the caller's transaction; None if not claimed."""
    if mail is None:
        return None
    mail_id = mail.id
    unit(session).events.clear()  # what this mail's notifications derive from
    env = Env(
        session,
        app.settings,
        app.secret,
        clock.now(app.settings),
        app.dkim_dns,
        app.previous_secrets,
    )
    ctx = pipeline.run(ready or MailContext(envelope_of(mail)), env)
    if ctx.outcome is Outcome.HELD:  # it stays waiting; a later drain takes it
        log.info("%s: held: %s", mail.message_id or f"mail {mail_id}", ctx.reason)
        return ctx
    outcome = ctx.outcome or Outcome.QUARANTINED
    mail.status = MailStatus.QUARANTINED if outcome is Outcome.QUARANTINED else MailStatus.PROCESSED
    mail.outcome, mail.reason = outcome.value, ctx.reason[:2000]
    mail.ticket = ctx.ticket
    mail.processed_at = env.now
    log.info("%s: %s: %s", mail.message_id or f"mail {mail_id}", outcome.value, ctx.reason)
    return ctx


def _settled(session: Session, done: list[MailContext | None]) -> list[Processed]:
    """What the mails of a unit of work came to, with the ids of their outbox rows: one flush
    for the whole batch, before the commit."""
    session.flush()
    return [
        Processed(
            ctx.outcome or Outcome.QUARANTINED,
            [row.id for row in ctx.outbox],
            ctx.envelope.mail_id,
            [(timer.id, timer.due_at) for timer in ctx.timers],
        )
        for ctx in done
        if ctx is not None
    ]


def process_batch(
    app: App, mail_ids: list[int], decoder: Decoder | None = None
) -> tuple[list[Processed], int]:
    """Several mails in one unit of work: one commit (one fsync) for all of them.

    Returns what was processed and how many of ``mail_ids`` were taken: the batch holds at most
    ``decoder.UNIT_BYTES`` of mail, and ends early after ``BATCH_SECONDS``, so that other
    writers (delivery, the CLI) are not kept waiting. Each mail is still all-or-nothing: if any
    of them raises, the whole batch is rolled back and every mail is taken again in a
    transaction of its own, where a failure quarantines that mail only.
    """
    decoder = decoder or Decoder(app)
    mail_ids = decoder.fitting(mail_ids)  # so many bytes of mail held at once, decoded
    contexts = decoder.take(mail_ids)
    if len(mail_ids) > 1:
        taken: list[int] = []
        try:
            with app.sessions.begin() as session:
                done = []
                inbound_turn(session)
                deadline = time.monotonic() + BATCH_SECONDS
                claimed = _claim(session, mail_ids)
                pipeline.preload(
                    [contexts[i] for i in mail_ids if i in claimed and i in contexts],
                    session,
                    app.settings,
                )
                for mail_id in mail_ids:
                    taken.append(mail_id)
                    mail, ready = claimed.get(mail_id), contexts.pop(mail_id, None)
                    done.append(_run_one(app, session, mail, ready))
                    if time.monotonic() > deadline:
                        break
                decoder.keep(contexts)
                return _settled(session, done), len(taken)
        except Exception as exc:
            log.warning("batch of %d rolled back (%s); one by one", len(taken), exc)
            decoder.keep({i: c for i, c in contexts.items() if i not in taken})
            mail_ids, contexts = taken, {}  # those that ran were changed by the run
    single = [process_mail(app, mail_id, contexts.pop(mail_id, None)) for mail_id in mail_ids]
    return [p for p in single if p is not None], len(mail_ids)


def process_mail(app: App, mail_id: int, ready: MailContext | None = None) -> Processed | None:
    """Run the pipeline on one stored mail; None when it was already done (or is gone).
    ``ready``: its context, decoded ahead (else it is decoded here, from storage).

    A conflict with a concurrent writer (the same new customer from two workers) is retried
    once, on a context decoded afresh, and so is any failure on a context decoded ahead; the
    database being away is no fault of the mail, so it raises and the mail waits; any other
    failure quarantines the mail with the reason.
    """
    for attempt in (1, 2):
        try:
            with app.sessions.begin() as session:
                inbound_turn(session)
                claimed = _claim(session, [mail_id]).get(mail_id)
                ctx = _run_one(app, session, claimed, ready if attempt == 1 else None)
                return _settled(session, [ctx])[0] if ctx is not None else None
        except IntegrityError as exc:
            if attempt == 2:
                quarantine(app, mail_id, exc)
        except OperationalError:
            raise
        except Exception as exc:
            if attempt == 1 and ready is not None:
                continue  # what was decoded ahead may be at fault: once more, decoded here
            quarantine(app, mail_id, exc)
            break
    return Processed(Outcome.QUARANTINED, [])


def quarantine(app: App, mail_id: int, exc: BaseException) -> None:
    reason = f"{type(exc).__name__}: {exc}"[:2000]
    log.error("mail %s quarantined: %s", mail_id, reason)
    with app.sessions.begin() as session:
        session.execute(
            update(InboundMail)
            .where(InboundMail.id == mail_id)
            .values(
                status=MailStatus.QUARANTINED,
                outcome=Outcome.QUARANTINED.value,
                reason=reason,
                error="".join(traceback.format_exception(exc)),
                processed_at=datetime.now(UTC),
            )
        )


def pending_ids(app: App, limit: int = BATCH, after: int = 0) -> list[int]:
    with reading(app.engine).connect() as connection:
        return list(
            connection.scalars(
                select(InboundMail.id)
                .where(InboundMail.status == MailStatus.RECEIVED, InboundMail.id > after)
                .order_by(InboundMail.id)
                .limit(limit)
            )
        )


def drain(
    app: App, dispatch: Dispatch = no_dispatch, decoder: Decoder | None = None, arm: Arm = no_arm
) -> int:
    """Process every mail waiting in ``received`` (and in the spool), handing new outbox rows
    to ``dispatch`` and new timers to ``arm``.

    Mail is taken ``BATCH`` at a time. The next ones are looked up, and handed to the decoder,
    before the last unit of work of the current ones: otherwise the writer would wait for the
    decoding of each new lot (measured: a fifth of its time on a backlog).
    """
    done = 0
    held: set[int] = set()  # replies waiting for their parent: the next drain looks again
    size = max(1, app.settings.process_batch)
    decoder = decoder or Decoder(app)
    spool.move(app.engine)
    ids = pending_ids(app)
    decoder.ahead(ids, size)
    while ids:
        start, following = 0, None
        while start < len(ids):
            if following is None and start + size >= len(ids):
                spool.move(app.engine)
                following = pending_ids(app, after=ids[-1])
                decoder.ahead(ids[start:] + following, size)
            processed, taken = process_batch(app, ids[start : start + size], decoder)
            dispatch([i for p in processed for i in p.outbox_ids])
            arm([t for p in processed for t in p.timers])
            held.update(p.mail_id for p in processed if p.outcome is Outcome.HELD and p.mail_id)
            start += taken
        done += len(ids)
        ids = following or pending_ids(app)  # and, at the end, any skipped over
        ids = [i for i in ids if i not in held]
        if not following:
            decoder.ahead(ids, size)
    return done


class Processor:
    """The in-process worker thread: woken by the intake after each commit."""

    def __init__(
        self,
        app: App,
        dispatch: Dispatch = no_dispatch,
        idle_seconds: float = 5.0,
        decode_processes: int = 0,
        arm: Arm = no_arm,
    ) -> None:
        self._app = app
        self._dispatch, self._arm = dispatch, arm
        self._idle = idle_seconds
        self._decoder = Decoder(app, decode_processes)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="processor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=30)
        self._decoder.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                drain(self._app, self._dispatch, self._decoder, self._arm)
            except Exception:  # the database is away: keep the mail, try again shortly
                log.exception("processing paused")
            self._wake.wait(self._idle)
