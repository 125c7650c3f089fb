"""Who sent the mail: a known agent, a known customer, or somebody new; and are they blocked."""

from __future__ import annotations

from datetime import datetime

from helpdesk.app import customers, unit_of_work
from helpdesk.app.pipeline.context import Env, MailContext, Outcome
from helpdesk.domain import tokens
from helpdesk.domain.mail.classify import MailKind
from storage.models import Customer


def block_reason(customer: Customer, now: datetime) -> str | None:
    """Why ``customer`` is blocked now, or None; an expired block no longer counts."""
    if not customer.blocked:
        return None
    if customer.blocked_until is not None and customer.blocked_until <= now:
        return None
    until = f" until {customer.blocked_until:%Y-%m-%d %H:%M} UTC" if customer.blocked_until else ""
    return f"sender is blocked{until}: {customer.block_reason or 'no reason given'}"


def stage(ctx: MailContext, env: Env) -> None:
    if ctx.sender is None:
        ctx.finish("identify", Outcome.QUARANTINED, "no sender address in From or envelope")
        return
    email = ctx.sender.email
    if tokens.is_ours(email, env.settings.support_addresses):
        ctx.finish("identify", Outcome.IGNORED, f"sent from our own address {email}: a loop")
        return
    ctx.agent = unit_of_work.active_agents(env.session).get(email)
    ctx.customer = customers.find_customer(env.session, email)
    if ctx.customer is not None:
        reason = block_reason(ctx.customer, env.now)
        if reason is not None:
            ctx.finish("identify", Outcome.BLOCKED, reason)
            return
    who = "agent" if ctx.agent else "customer" if ctx.customer else "new sender"
    ctx.decide("identify", f"{email}: {who}")
    writes = ctx.classification is not None and ctx.classification.kind is MailKind.NORMAL
    if ctx.customer is not None and ctx.customer.bouncing and writes:
        ctx.customer.bouncing, ctx.customer.bounce_reason = False, ""
        ctx.decide("identify", f"{email} writes again: no longer marked as bouncing")
