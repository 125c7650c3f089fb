"""The same content from the same sender within minutes is one message, whatever its Message-ID.

The edge already refuses a second copy with the same Message-ID (a unique key); this catches a
person pressing Send twice, or a relay that rewrote the Message-ID.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from gateway import tickets
from gateway.pipeline.context import Env, MailContext, Outcome
from storage.models import Message, Ticket


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
