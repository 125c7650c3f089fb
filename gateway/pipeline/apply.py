"""Apply a normal mail: open a ticket, or add the reply to its ticket and move its status."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import select

from gateway import lifecycle, tickets
from gateway.pipeline.context import Env, MailContext, Outcome
from gateway.pipeline.parse import Address, Attachment
from gateway.tokens import Party
from storage.models import (
    ACTIVE_STATUSES,
    Agent,
    AuthorKind,
    Customer,
    MessageKind,
    Status,
    Ticket,
)


def kept_attachments(attachments: Iterable[Attachment], limit: int) -> tuple[list[Attachment], str]:
    """The attachments within the size limit, and a note naming the ones left in the raw mail."""
    kept, dropped = [], []
    for attachment in attachments:
        if len(attachment.content) <= limit:
            kept.append(attachment)
        else:
            dropped.append(f"{attachment.filename} ({len(attachment.content)} bytes)")
    note = ""
    if dropped:
        note = "\n\n[Over the attachment size limit, kept only in the raw mail: "
        note += ", ".join(dropped) + "]"
    return kept, note


def stage(ctx: MailContext, env: Env) -> None:
    if ctx.ticket is None:
        _new_ticket(ctx, env, linked=None)
    elif _is_agent_reply(ctx):
        _agent_reply(ctx, env, ctx.ticket)
    else:
        _customer_reply(ctx, env, ctx.ticket)


def _is_agent_reply(ctx: MailContext) -> bool:
    token = ctx.match.token if ctx.match else None
    return (
        ctx.agent is not None
        and token is not None
        and token.party is Party.AGENT
        and token.party_id == ctx.agent.id
    )


def _sender_customer(ctx: MailContext, env: Env) -> Customer:
    assert ctx.sender is not None
    if ctx.customer is None:
        ctx.customer = tickets.customer_for(env.session, ctx.sender.email, ctx.sender.name, env.now)
    return ctx.customer


def _others(ctx: MailContext, env: Env) -> list[Customer]:
    """Further people on the mail (To and Cc) who are neither us, nor an agent, nor the sender."""
    ours = set(env.settings.support_addresses)
    agents = set(env.session.scalars(select(Agent.email)))
    sender = ctx.sender.email if ctx.sender else ""
    people: dict[str, Address] = {}
    for address in ctx.mail.recipients:
        base = address.email.split("+")[0] + "@" + address.email.rpartition("@")[2]
        if address.email in ours or base in ours or address.email in agents:
            continue
        if address.email != sender:
            people.setdefault(address.email, address)
    return [tickets.customer_for(env.session, a.email, a.name, env.now) for a in people.values()]


def _post(
    ctx: MailContext,
    env: Env,
    ticket: Ticket,
    kind: MessageKind,
    actor: tickets.Actor,
    customer: Customer | None,
) -> None:
    kept, note = kept_attachments(ctx.mail.attachments, env.settings.max_attachment_bytes)
    tickets.add_message(
        env.session,
        ticket,
        kind,
        actor,
        ctx.body + note,
        env.now,
        customer=customer,
        message_id=ctx.mail.message_id,
        content_hash=ctx.content_hash,
        inbound_mail_id=ctx.envelope.mail_id,
        attachments=kept,
    )


def _new_ticket(ctx: MailContext, env: Env, linked: Ticket | None) -> None:
    customer = _sender_customer(ctx, env)
    actor = tickets.Actor(AuthorKind.CUSTOMER, customer.email)
    subject = ctx.mail.subject.strip() or "(no subject)"
    ticket = tickets.open_ticket(
        env.session, customer, subject, ctx.body, actor, env.now, linked=linked
    )
    _post(ctx, env, ticket, MessageKind.PUBLIC, actor, customer)
    tickets.add_participants(env.session, ticket, _others(ctx, env), actor, env.now)
    ctx.ticket = ticket
    if linked is None:
        ctx.finish("apply", Outcome.NEW_TICKET, f"opened {ticket.number} for {customer.email}")
    else:
        ctx.finish(
            "apply", Outcome.LINKED_TICKET, f"opened {ticket.number}, linked to {linked.number}"
        )


def _customer_reply(ctx: MailContext, env: Env, ticket: Ticket) -> None:
    decision = lifecycle.customer_reply(
        ticket.status,
        ticket.resolved_at,
        env.now,
        timedelta(days=env.settings.reopen_window_days),
    )
    if decision.effect is lifecycle.ReplyEffect.NEW_LINKED_TICKET:
        ctx.decide("apply", decision.reason)
        _new_ticket(ctx, env, linked=ticket)
        return
    customer = _sender_customer(ctx, env)
    actor = tickets.Actor(AuthorKind.CUSTOMER, customer.email)
    _post(ctx, env, ticket, MessageKind.PUBLIC, actor, customer)
    tickets.set_status(env.session, ticket, decision.status, actor, env.now)
    tickets.add_participants(env.session, ticket, _others(ctx, env), actor, env.now)
    ctx.finish("apply", Outcome.REPLY, f"added to {ticket.number} ({decision.reason})")


def _agent_reply(ctx: MailContext, env: Env, ticket: Ticket) -> None:
    assert ctx.agent is not None
    actor = tickets.Actor(AuthorKind.AGENT, ctx.agent.email)
    _post(ctx, env, ticket, MessageKind.PUBLIC, actor, None)
    if ticket.first_responded_at is None:
        ticket.first_responded_at = env.now
    if ticket.status in ACTIVE_STATUSES:
        tickets.set_status(env.session, ticket, Status.AWAITING_CUSTOMER, actor, env.now)
    ctx.finish("apply", Outcome.REPLY, f"agent reply on {ticket.number}")
