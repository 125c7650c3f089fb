"""Stage: a sender past the hourly limit of new tickets has the new mail held, not opened.

Held is quarantined with the reason: the mail is kept whole, listed by ``helpdesk mail list``
and ``mail show``, logged, answered by nothing, and ``mail replay`` puts it through again (the
limit is judged anew, at that time). Counted per the customer the ticket would be for: the
sender, or the customer an agent's ``#customer`` names.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, inspect, select

from helpdesk.app import customers
from helpdesk.app.pipeline.context import Env, MailContext, Outcome
from helpdesk.app.unit_of_work import unit
from helpdesk.domain.senders import WINDOW, flood_reason
from helpdesk.domain.vocabulary import BACKFILL_SOURCE
from storage.models import Customer, Ticket

log = logging.getLogger("helpdesk.flood")


def stage(ctx: MailContext, env: Env) -> None:
    assert ctx.sender is not None
    if ctx.ticket is not None:
        return  # a reply: never limited
    if ctx.envelope.source == BACKFILL_SOURCE:
        return  # an old mailbox imported: its tickets were opened over years, not this hour
    if ctx.plan is not None and ctx.plan.new_ticket_for is None:
        return  # an agent's #list, #show, #help...: opens no ticket
    on_behalf = ctx.plan.new_ticket_for if ctx.plan is not None else None
    email = on_behalf.email if on_behalf is not None else ctx.sender.email
    customer = customers.find_customer(env.session, email)
    opened = 0 if customer is None else opened_since(env, customer)
    reason = flood_reason(email, opened, env.settings.max_new_tickets_per_sender_hour)
    if reason is None:
        return
    log.warning("%s: %s", ctx.mail.message_id or f"mail {ctx.envelope.mail_id}", reason)
    ctx.finish("flood", Outcome.QUARANTINED, reason)


def opened_since(env: Env, customer: Customer) -> int:
    """The customer's tickets opened in the last hour: those written, and those this unit of
    work has opened and not yet flushed (a batch may hold many mails of one sender)."""
    pending = sum(
        1 for t in unit(env.session).opened if t.customer is customer and inspect(t).pending
    )
    if customer.id is None:
        return pending
    query = select(func.count(Ticket.id)).where(
        Ticket.customer_id == customer.id, Ticket.created_at >= env.now - WINDOW
    )
    with env.session.no_autoflush:
        return (env.session.scalar(query) or 0) + pending
