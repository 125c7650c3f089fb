"""The inbound pipeline: one stored mail, one unit of work, a fixed chain of stages.

Each stage reads and extends the context; a stage that settles the mail calls ``ctx.finish`` and
the chain stops there. The order is the design: decode, refuse what is too large, hold a reply
whose parent still waits, classify, know the sender, find the thread, note automatic mail, check
an agent's commands, keep the new words, drop repeats, hold a runaway sender's new mail,
validate, apply; then plan the notifications.

Mail imported by ``helpdesk imap backfill`` runs on the clock of when it came, so that its
ticket, messages and events are dated then, not at the import: its IMAP INTERNALDATE, which the
backfill writes on a first line of its own (``backfill_note``), else its Date header, either if
plausible (not in the future, not before 1990); else the import's time. It plans no timers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from sqlalchemy.orm import Session

from helpdesk.app import sla, tickets, timers, unit_of_work
from helpdesk.app.notifications import Planner
from helpdesk.app.pipeline import (
    apply,
    automated,
    classify,
    clean,
    commands,
    dedupe,
    flood,
    identify,
    notify,
    order,
    parse,
    size,
    thread,
    validate,
)
from helpdesk.app.pipeline.context import Env, Envelope, MailContext, Outcome
from helpdesk.app.settings import Settings
from helpdesk.domain import credentials
from helpdesk.domain.mail.clean import tidy
from helpdesk.domain.mail.headers import topmost
from helpdesk.domain.vocabulary import BACKFILL_SOURCE

Stage = Callable[[MailContext, Env], None]
BACKFILL_DATE_HEADER = "X-Helpdesk-Backfill-Date"
_BACKFILL_NOTE = re.compile(rb"\A" + BACKFILL_DATE_HEADER.encode() + rb": ([^\r\n]*)\r?\n")
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)  # before it: a broken clock, or 1970 for "unknown"

STAGES: tuple[tuple[str, Stage], ...] = (
    ("parse", parse.stage),
    ("size", size.stage),
    ("order", order.stage),
    ("classify", classify.stage),
    ("identify", identify.stage),
    ("thread", thread.stage),
    ("automated", automated.stage),
    ("commands", commands.stage),
    ("clean", clean.stage),
    ("dedupe", dedupe.stage),
    ("flood", flood.stage),
    ("validate", validate.stage),
    ("apply", apply.stage),
)


def prepare(ctx: MailContext) -> MailContext:
    """The pure stages, decode and classify, the cleaning of the mail's own text and the look
    for secrets in it, ahead of the unit of work: no lock is held while they run (measured: the
    look was 4% of the unit of work's time). ``run`` then skips or reuses them."""
    parse.decode(ctx)
    classify.decide(ctx)
    ctx.cleaned = tidy(ctx.mail)
    words = tickets.first_mail_text(apply.subject_of(ctx), ctx.cleaned.body)
    ctx.scanned = credentials.scanned(words)  # used if it opens a ticket with these words
    return ctx


def preload(contexts: Iterable[MailContext], session: Session, settings: Settings) -> None:
    """Read, for a batch of prepared mails at once, what each mail's stages would otherwise
    query one by one: the senders' customer records, their acknowledgement counts, their
    recent messages with the same content, and which of their attachments are stored already."""
    contexts = list(contexts)
    emails = [ctx.sender.email for ctx in contexts if ctx.sender is not None]
    now = datetime.now(UTC)
    unit_of_work.known_customers(session, emails)
    parsed = [ctx.parsed for ctx in contexts if ctx.parsed is not None]
    unit_of_work.stored_blobs(session, (a.sha256 for mail in parsed for a in mail.attachments))
    Planner(session, settings, now).preload(emails)
    dedupe.preload(session, settings, now, contexts)


def backfill_note(arrived: datetime) -> bytes:
    """The first line the backfill puts on a mail it stores: when the IMAP server got it."""
    return f"{BACKFILL_DATE_HEADER}: {format_datetime(arrived.astimezone(UTC))}\r\n".encode()


def _plausible(value: str | None, now: datetime) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)  # "-0000": UTC, the zone unknown
    return when.astimezone(UTC) if EARLIEST <= when <= now else None


def came(envelope: Envelope, now: datetime) -> tuple[datetime, str]:
    """When an imported mail came, and what says so. The first line counts only on mail of the
    backfill's source: a sender who writes it gets nothing from it."""
    note = _BACKFILL_NOTE.match(envelope.raw)
    arrived = _plausible(note.group(1).decode("ascii", "replace") if note else None, now)
    if arrived is not None:
        return arrived, "its IMAP INTERNALDATE"
    sent = _plausible(topmost(envelope.raw, "date"), now)
    if sent is not None:
        return sent, "its Date header"
    return now, "the import, for want of a date"


def run(ctx: MailContext, env: Env) -> MailContext:
    old = unit_of_work.unit(env.session).old_mail = ctx.envelope.source == BACKFILL_SOURCE
    if old:  # old mail: on the clock of when it came
        now, why = came(ctx.envelope, env.now)
        env = replace(env, now=now)
        ctx.decide("backfill", f"dated {now:%Y-%m-%d %H:%M} UTC by {why}")
    for _name, stage in STAGES:
        stage(ctx, env)
        if ctx.outcome is not None:
            break
    if ctx.outcome is Outcome.HELD:
        return ctx
    if ctx.envelope.source == BACKFILL_SOURCE:  # old mail: threaded, but no one is told
        if ctx.ticket is not None and ctx.ticket in unit_of_work.unit(env.session).opened:
            sla.as_imported(ctx.ticket)
        ctx.decide("notify", "nobody to tell (old mail, imported by backfill)")
        return ctx
    if ctx.ticket is not None:  # its timers as it is now, in the same unit of work
        armed = unit_of_work.unit(env.session).armed
        armed.clear()
        timers.schedule(env.session, ctx.ticket, env.now, env.settings.timer_policy)
        ctx.timers = list(armed)
    notify.stage(ctx, env)
    return ctx
