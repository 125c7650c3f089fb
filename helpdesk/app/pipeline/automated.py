"""Bounces and auto-replies: noted on their ticket, never answered, never creating work.

A bounce marks the failed address as bouncing. An auto-reply that matches no ticket is recorded
and ignored (an out-of-office answer to nothing of ours is not a support request).
"""

from __future__ import annotations

import re

from sqlalchemy import select

from helpdesk.app import tickets
from helpdesk.app.pipeline.context import Env, MailContext, Outcome
from helpdesk.domain.mail.classify import MailKind
from helpdesk.domain.vocabulary import AuthorKind, EventKind, MessageKind
from storage.models import Customer

_FINAL_RECIPIENT = re.compile(
    r"^(?:final|original)-recipient:\s*rfc822;\s*<?([^\s<>]+@[^\s<>]+)>?", re.I | re.M
)
_ACTION = re.compile(r"^action:\s*(\w+)", re.I | re.M)
_DIAGNOSTIC = re.compile(r"^(?:diagnostic-code|status):\s*(.+)$", re.I | re.M)


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


def _bounce(ctx: MailContext, env: Env) -> None:
    failed = failed_recipients(ctx.mail.report, ctx.mail.headers)
    diagnostic = "; ".join(_DIAGNOSTIC.findall(ctx.mail.report))[:500] or "delivery failed"
    for address in failed:
        customer = env.session.scalar(select(Customer).where(Customer.email == address))
        if customer is not None:
            customer.bouncing, customer.bounce_reason = True, diagnostic
    who = ", ".join(failed) or "unknown recipient"
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
