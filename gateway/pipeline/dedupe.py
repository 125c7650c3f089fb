"""The same content from the same sender within minutes is one message, whatever its Message-ID.

The edge already refuses a second copy with the same Message-ID (a unique key); this catches a
person pressing Send twice, or a relay that rewrote the Message-ID.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway import tickets
from gateway.pipeline.context import Env, MailContext, Outcome
from gateway.settings import Settings
from storage.models import Message, Ticket

SEEN, CHECKED = "dedupe_seen", "dedupe_checked"  # keys of the unit of work's session.info


def stage(ctx: MailContext, env: Env) -> None:
    assert ctx.sender is not None
    if ctx.customer is None and ctx.agent is None:
        return  # nobody with this address has written before: nothing to repeat
    for message in tickets.posted(env.session):  # this batch's, not necessarily flushed yet
        same = (message.author_email, message.content_hash) == (ctx.sender.email, ctx.content_hash)
        if same and (ctx.ticket is None or message.ticket is ctx.ticket):
            ctx.finish(
                "dedupe",
                Outcome.DUPLICATE,
                f"same content from the same sender on {message.ticket.number}",
            )
            return
    since = env.now - timedelta(minutes=env.settings.duplicate_window_minutes)
    key = (ctx.sender.email, ctx.content_hash)
    if key in env.session.info.get(CHECKED, ()):
        for ticket_id, number, created in env.session.info[SEEN].get(key, []):
            if created >= since and (ctx.ticket is None or ticket_id == ctx.ticket.id):
                ctx.finish(
                    "dedupe", Outcome.DUPLICATE, f"same content from the same sender on {number}"
                )
                return
        return
    query = (
        select(Ticket.number)
        .join(Message, Message.ticket_id == Ticket.id)
        .where(
            Message.author_email == ctx.sender.email,
            Message.content_hash == ctx.content_hash,
            Message.created_at >= since,
        )
    )
    if ctx.ticket is not None:
        query = query.where(Message.ticket_id == ctx.ticket.id)
    with env.session.no_autoflush:  # what is not flushed was looked at above
        number = env.session.scalar(query.limit(1))
    if number is not None:
        ctx.finish("dedupe", Outcome.DUPLICATE, f"same content from the same sender on {number}")


def preload(
    session: Session, settings: Settings, now: datetime, contexts: list[MailContext]
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
    seen: dict[tuple[str, str], list[tuple[int, str, datetime]]] = session.info.setdefault(SEEN, {})
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
    session.info.setdefault(CHECKED, set()).update(pairs)
