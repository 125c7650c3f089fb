"""The same content from the same sender within minutes is one message, whatever its Message-ID.

The edge already refuses a second copy with the same Message-ID (a unique key); this catches a
person pressing Send twice, or a relay that rewrote the Message-ID.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.app.pipeline.context import Env, MailContext, Outcome
from helpdesk.app.settings import Settings
from helpdesk.app.unit_of_work import unit
from helpdesk.domain.vocabulary import BACKFILL_SOURCE
from storage.models import Message, Ticket


def stage(ctx: MailContext, env: Env) -> None:
    assert ctx.sender is not None
    if ctx.envelope.source == BACKFILL_SOURCE:  # its messages are all dated today
        ctx.decide("dedupe", "old mail imported by backfill: only its Message-ID is a repeat")
        return
    if ctx.plan is not None and ctx.plan.actions:
        ctx.decide("dedupe", "commands: never a repeat of other content (the edge dedupes resends)")
        return
    if ctx.customer is None and ctx.agent is None:
        return  # nobody with this address has written before: nothing to repeat
    number = _repeated_on(ctx, env, ctx.sender.email)
    if number is not None:
        ctx.finish("dedupe", Outcome.DUPLICATE, f"same content from the same sender on {number}")


def _repeated_on(ctx: MailContext, env: Env, sender: str) -> str | None:
    """The number of the ticket that already has this content from this sender, if any: among
    this batch's messages (flushed or not), else what the batch read ahead, else the database."""
    for message in unit(env.session).posted:
        same = (message.author_email, message.content_hash) == (sender, ctx.content_hash)
        if same and (ctx.ticket is None or message.ticket is ctx.ticket):
            return message.ticket.number
    since = env.now - timedelta(minutes=env.settings.duplicate_window_minutes)
    key = (sender, ctx.content_hash)
    work = unit(env.session)
    if key in work.checked:
        for ticket_id, number, created in work.seen.get(key, []):
            if created >= since and (ctx.ticket is None or ticket_id == ctx.ticket.id):
                return number
        return None
    query = (
        select(Ticket.number)
        .join(Message, Message.ticket_id == Ticket.id)
        .where(
            Message.author_email == sender,
            Message.content_hash == ctx.content_hash,
            Message.created_at >= since,
        )
    )
    if ctx.ticket is not None:
        query = query.where(Message.ticket_id == ctx.ticket.id)
    with env.session.no_autoflush:  # what is not flushed was looked at above
        return env.session.scalar(query.limit(1))


def preload(
    session: Session, settings: Settings, now: datetime, contexts: Iterable[MailContext]
) -> None:
    """For a batch: the recent messages with the content its mails have, read ahead, in one
    query (an agent's mail whose command lines the stage strips is looked up on its own)."""
    pairs = {
        (ctx.sender.email, ctx.cleaned.content_hash)
        for ctx in contexts
        if ctx.sender is not None and ctx.cleaned is not None
    }
    if not pairs:
        return
    since = now - timedelta(minutes=settings.duplicate_window_minutes)
    seen = unit(session).seen
    with session.no_autoflush:  # this batch's own messages are looked at in memory
        rows = session.execute(
            select(
                Message.author_email,
                Message.content_hash,
                Message.ticket_id,
                Ticket.number,
                Message.created_at,
            )
            .join(Ticket, Message.ticket_id == Ticket.id)
            .where(
                Message.author_email.in_({email for email, _ in pairs}),
                Message.content_hash.in_({digest for _, digest in pairs}),
                Message.created_at >= since,
            )
        )
        for email, digest, ticket_id, number, created in rows:
            seen.setdefault((email, digest), []).append((ticket_id, number, created))
    unit(session).checked.update(pairs)
