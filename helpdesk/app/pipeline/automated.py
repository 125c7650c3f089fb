"""Bounces and auto-replies: noted on their ticket, never answered, never creating work.

A bounce (a DSN, or an MTA's own format: ``helpdesk.domain.mail.bounces``) marks a failed address
as bouncing only when it names mail of ours to that address: it came back to the signed address
of a ticket the address is on, or it quotes the Message-ID of an outbox row sent to it. Anyone can
write a bounce; only ours were sent. The ticket it belongs to is the one of that address, or of
that quoted mail. An auto-reply that matches no ticket is recorded and ignored (an out-of-office
answer to nothing of ours is not a request).
"""

from __future__ import annotations

import re

from sqlalchemy import select

from helpdesk.app import tickets
from helpdesk.app.pipeline.context import HEAD_BYTES, Env, MailContext, Outcome
from helpdesk.domain.mail.bounces import diagnostic, failed_recipients
from helpdesk.domain.mail.classify import MailKind
from helpdesk.domain.vocabulary import AuthorKind, EventKind, MessageKind
from storage.models import Customer, Outbox, Ticket

__all__ = ["failed_recipients", "sent_to", "stage"]  # failed_recipients: the domain's, as before

_MESSAGE_ID = re.compile(rb"<[^<>\s@]{1,250}@[^<>\s]{1,250}>")
SCAN = HEAD_BYTES  # a bounce quotes the header of our mail near its start (and it is kept)
MAX_IDS = 200


def stage(ctx: MailContext, env: Env) -> None:
    assert ctx.classification is not None and ctx.sender is not None
    kind = ctx.classification.kind
    if kind is MailKind.BOUNCE:
        _bounce(ctx, env)
    elif kind is MailKind.AUTO_REPLY:
        _auto_reply(ctx, env)


def sent_to(ctx: MailContext, env: Env) -> dict[str, int | None]:
    """The addresses the bounce shows we wrote to, each with the ticket of that mail: the
    parties of the ticket whose signed address it came back to, and the recipients of our mails
    whose Message-IDs it quotes."""
    found: dict[str, int | None] = {}
    ids = {i.decode("ascii", "replace") for i in _MESSAGE_ID.findall(ctx.envelope.raw[:SCAN])}
    if ids:
        rows = env.session.execute(
            select(Outbox.recipient, Outbox.ticket_id).where(
                Outbox.message_id.in_(list(ids)[:MAX_IDS])
            )
        )
        for recipient, ticket_id in rows:
            found.setdefault(recipient, ticket_id)
    if ctx.match is not None and ctx.match.token is not None and ctx.match.ticket is not None:
        found |= dict.fromkeys(ctx.match.ticket.parties, ctx.match.ticket.id)
    return found


def _bounce(ctx: MailContext, env: Env) -> None:
    assert ctx.classification is not None
    failures = ctx.classification.failures
    reason = diagnostic(ctx.mail.report, ctx.mail.text)
    if not failures.failed:
        delayed = ", ".join(failures.delayed)
        why = f"delivery to {delayed} delayed, not failed" if delayed else "names no address"
        ctx.finish("automated", Outcome.IGNORED, f"bounce: {why}: nothing marked")
        return
    failed = list(failures.failed)
    ours = {a: t for a, t in sent_to(ctx, env).items() if a in failures.failed}
    for address in ours:
        customer = env.session.scalar(select(Customer).where(Customer.email == address))
        if customer is not None:
            customer.bouncing, customer.bounce_reason = True, reason
    who = ", ".join(failed)
    if not ours:
        why = f"bounce for {who} names no mail of ours to it: not counted"
        ctx.finish("automated", Outcome.IGNORED, why)
        return
    ticket = ctx.ticket or _ticket_of(env, ours)
    if ticket is None:
        ctx.finish("automated", Outcome.IGNORED, f"bounce for {who} matches no ticket")
        return
    ctx.ticket = ticket
    actor = tickets.Actor.system()
    tickets.add_message(
        env.session,
        ticket,
        MessageKind.SYSTEM,
        actor,
        f"Delivery to {who} failed: {reason}",
        env.now,
        message_id=ctx.mail.message_id,
        inbound_mail_id=ctx.envelope.mail_id,
    )
    after = {"failed": failed, "counted": sorted(ours), "diagnostic": reason}
    tickets.record(env.session, ticket, EventKind.BOUNCE_RECEIVED, actor, env.now, after=after)
    ctx.finish("automated", Outcome.BOUNCE_NOTED, f"bounce for {who} noted on {ticket.number}")


def _ticket_of(env: Env, ours: dict[str, int | None]) -> Ticket | None:
    """The ticket of the first of our quoted mails that has one (a digest or a notice may not)."""
    ticket_id = next((t for t in ours.values() if t is not None), None)
    if ticket_id is None:
        return None
    return env.session.get(Ticket, ticket_id, with_for_update=True)


def _auto_reply(ctx: MailContext, env: Env) -> None:
    assert ctx.sender is not None and ctx.classification is not None
    if ctx.ticket is None:
        ctx.finish("automated", Outcome.IGNORED, f"{ctx.classification.reason}, matches no ticket")
        return
    note = f"Automatic reply from {ctx.sender.email}: {ctx.mail.subject}\n\n{ctx.mail.text[:2000]}"
    tickets.add_message(
        env.session,
        ctx.ticket,
        MessageKind.SYSTEM,
        tickets.Actor(AuthorKind.SYSTEM, ctx.sender.email),
        note,
        env.now,
        message_id=ctx.mail.message_id,
        inbound_mail_id=ctx.envelope.mail_id,
    )
    ctx.finish(
        "automated", Outcome.AUTO_REPLY_NOTED, f"noted on {ctx.ticket.number}, no status change"
    )
