"""Bounces and auto-replies: noted on their ticket, never answered, never creating work.

A bounce marks a failed address as bouncing only when it names mail of ours to that address: it
came back to the signed address of a ticket the address is on, or it quotes the Message-ID of an
outbox row sent to it. Anyone can write a bounce; only ours were sent. An auto-reply that matches
no ticket is recorded and ignored (an out-of-office answer to nothing of ours is not a request).
"""

from __future__ import annotations

import re

from sqlalchemy import select

from helpdesk.app import tickets
from helpdesk.app.pipeline.context import Env, MailContext, Outcome
from helpdesk.domain.mail.classify import MailKind
from helpdesk.domain.vocabulary import AuthorKind, EventKind, MessageKind
from storage.models import Customer, Outbox

_FINAL_RECIPIENT = re.compile(
    r"^(?:final|original)-recipient:\s*rfc822;\s*<?([^\s<>]+@[^\s<>]+)>?", re.I | re.M
)
_ACTION = re.compile(r"^action:\s*(\w+)", re.I | re.M)
_DIAGNOSTIC = re.compile(r"^(?:diagnostic-code|status):\s*(.+)$", re.I | re.M)
_MESSAGE_ID = re.compile(rb"<[^<>\s@]{1,250}@[^<>\s]{1,250}>")
SCAN = 256 * 1024  # a bounce quotes the header of our mail near its start
MAX_IDS = 200


def failed_recipients(report: str, headers: dict[str, str]) -> list[str]:
    """Addresses a DSN reports as failed; a "delayed" or "delivered" notice names none."""
    found = []
    for block in re.split(r"\n\s*\n", report):
        action = _ACTION.search(block)
        if action is None or action.group(1).lower() == "failed":
            found += [a.lower() for a in _FINAL_RECIPIENT.findall(block)]
    found += [a.strip().lower() for a in headers.get("x-failed-recipients", "").split(",")]
    return list(dict.fromkeys(a for a in found if "@" in a))


def stage(ctx: MailContext, env: Env) -> None:
    assert ctx.classification is not None and ctx.sender is not None
    kind = ctx.classification.kind
    if kind is MailKind.BOUNCE:
        _bounce(ctx, env)
    elif kind is MailKind.AUTO_REPLY:
        _auto_reply(ctx, env)


def sent_to(ctx: MailContext, env: Env) -> set[str]:
    """The addresses the bounce shows we wrote to: the parties of the ticket whose signed address
    it came back to, and the recipients of our mails whose Message-IDs it quotes."""
    found: set[str] = set()
    if ctx.match is not None and ctx.match.token is not None and ctx.match.ticket is not None:
        found |= ctx.match.ticket.parties
    ids = {i.decode("ascii", "replace") for i in _MESSAGE_ID.findall(ctx.envelope.raw[:SCAN])}
    if ids:
        found |= set(
            env.session.scalars(
                select(Outbox.recipient).where(Outbox.message_id.in_(list(ids)[:MAX_IDS]))
            )
        )
    return found


def _bounce(ctx: MailContext, env: Env) -> None:
    failed = failed_recipients(ctx.mail.report, ctx.mail.headers)
    diagnostic = "; ".join(_DIAGNOSTIC.findall(ctx.mail.report))[:500] or "delivery failed"
    ours = sent_to(ctx, env) & set(failed)
    for address in ours:
        customer = env.session.scalar(select(Customer).where(Customer.email == address))
        if customer is not None:
            customer.bouncing, customer.bounce_reason = True, diagnostic
    who = ", ".join(failed) or "unknown recipient"
    if not ours:
        why = f"bounce for {who} names no mail of ours to it: not counted"
        ctx.finish("automated", Outcome.IGNORED, why)
        return
    if ctx.ticket is None:
        ctx.finish("automated", Outcome.IGNORED, f"bounce for {who} matches no ticket")
        return
    note = f"Delivery to {who} failed: {diagnostic}"
    actor = tickets.Actor.system()
    tickets.add_message(
        env.session,
        ctx.ticket,
        MessageKind.SYSTEM,
        actor,
        note,
        env.now,
        message_id=ctx.mail.message_id,
        inbound_mail_id=ctx.envelope.mail_id,
    )
    tickets.record(
        env.session,
        ctx.ticket,
        EventKind.BOUNCE_RECEIVED,
        actor,
        env.now,
        after={"failed": failed, "diagnostic": diagnostic},
    )
    ctx.finish("automated", Outcome.BOUNCE_NOTED, f"bounce for {who} noted on {ctx.ticket.number}")


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
