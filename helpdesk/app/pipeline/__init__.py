"""The inbound pipeline: one stored mail, one unit of work, a fixed chain of stages.

Each stage reads and extends the context; a stage that settles the mail calls ``ctx.finish`` and
the chain stops there. The order is the design: decode, refuse what is too large, hold a reply
whose parent still waits, classify, know the sender, find the thread, note automatic mail, check
an agent's commands, keep the new words, drop repeats, hold a runaway sender's new mail,
validate, apply; then plan the notifications.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from helpdesk.app import timers, unit_of_work
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
from helpdesk.app.pipeline.context import Env, MailContext, Outcome
from helpdesk.app.settings import Settings
from helpdesk.domain.mail.clean import tidy
from helpdesk.domain.vocabulary import BACKFILL_SOURCE

Stage = Callable[[MailContext, Env], None]

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
    """The pure stages, decode and classify, and the cleaning of the mail's own text, ahead of
    the unit of work: no lock is held while they run. ``run`` then skips or reuses them."""
    parse.decode(ctx)
    classify.decide(ctx)
    ctx.cleaned = tidy(ctx.mail)
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


def run(ctx: MailContext, env: Env) -> MailContext:
    for _name, stage in STAGES:
        stage(ctx, env)
        if ctx.outcome is not None:
            break
    if ctx.outcome is Outcome.HELD:
        return ctx
    if ctx.envelope.source == BACKFILL_SOURCE:  # old mail: threaded, but no one is told
        ctx.decide("notify", "nobody to tell (old mail, imported by backfill)")
        return ctx
    if ctx.ticket is not None:  # its timers as it is now, in the same unit of work
        armed = unit_of_work.unit(env.session).armed
        armed.clear()
        timers.schedule(env.session, ctx.ticket, env.now, env.settings.timer_policy)
        ctx.timers = list(armed)
    notify.stage(ctx, env)
    return ctx
