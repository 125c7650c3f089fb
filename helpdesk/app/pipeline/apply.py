"""Apply a mail: open a ticket, or add the reply to its ticket, move its status, run commands."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta

from helpdesk.app import customers, effects, participants, tickets, unit_of_work
from helpdesk.app.pipeline.context import Env, MailContext, Outcome
from helpdesk.domain import lifecycle
from helpdesk.domain.auth import customer_proven
from helpdesk.domain.commands.effects import OpenFor
from helpdesk.domain.mail.charsets import decode_header_value
from helpdesk.domain.mail.message import Address, Attachment
from helpdesk.domain.tokens import is_ours
from helpdesk.domain.vocabulary import AuthorKind, MessageKind, Status
from storage.models import Customer, Ticket

_RATING = re.compile(r"^\s*([1-5])\s*(/\s*5)?\s*$")
_RATING_SUBJECT = re.compile(r"\brating\s+([1-5])\b", re.I)


def kept_attachments(attachments: Iterable[Attachment], limit: int) -> tuple[list[Attachment], str]:
    """The attachments within the size limit, and a note naming the ones left in the raw mail."""
    kept, dropped = [], []
    for attachment in attachments:
        if attachment.size <= limit:
            kept.append(attachment)
        else:
            dropped.append(f"{attachment.filename} ({attachment.size} bytes)")
    note = ""
    if dropped:
        note = "\n\n[Over the attachment size limit, kept only in the raw mail: "
        note += ", ".join(dropped) + "]"
    return kept, note


def rating(subject: str, body: str) -> int | None:
    """A satisfaction rating: a reply that is just 1 to 5, or the subject of our rating links."""
    found = _RATING.match(body) or _RATING_SUBJECT.search(subject)
    return int(found.group(1)) if found else None


def stage(ctx: MailContext, env: Env) -> None:
    if ctx.plan is not None:
        _agent_mail(ctx, env)
    elif ctx.ticket is None:
        _new_ticket(ctx, env, linked=None)
    else:
        _customer_reply(ctx, env, ctx.ticket)


def _sender_customer(ctx: MailContext, env: Env) -> Customer:
    assert ctx.sender is not None
    if ctx.customer is None:  # identify looked and found nobody
        sender = ctx.sender
        ctx.customer = customers.new_customer(env.session, sender.email, sender.name, env.now)
    return ctx.customer


def _others(ctx: MailContext, env: Env, ticket: Ticket) -> list[Customer]:
    """Further people on the mail (To and Cc) who are neither us, nor an agent, nor the sender,
    nor on the ticket already: as many as the ticket has room for (``max_participants``), since
    each one receives every later reply."""
    agents = unit_of_work.active_agents(env.session)
    known = participants.participant_emails(env.session, ticket)
    sender = ctx.sender.email if ctx.sender else ""
    people: dict[str, Address] = {}
    for address in ctx.mail.recipients:
        ours = is_ours(address.email, env.settings.support_addresses)
        if ours or address.email in agents or address.email in known:
            continue
        if address.email != sender:
            people.setdefault(address.email, address)
    limit = env.settings.max_participants
    room = max(limit - len(known - {ticket.customer.email}), 0)
    if len(people) > room:
        left = len(people) - room
        ctx.decide("apply", f"{left} more addresses not added: at most {limit} participants")
    chosen = list(people.values())[:room]
    return [customers.customer_for(env.session, a.email, a.name, env.now) for a in chosen]


def _post(
    ctx: MailContext,
    env: Env,
    ticket: Ticket,
    kind: MessageKind,
    actor: tickets.Actor,
    customer: Customer | None,
    verified: bool = True,
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
        verified=verified,
    )
    if actor.kind is AuthorKind.CUSTOMER and verified:  # what our answers' Thread-Index extends
        headers = ctx.mail.headers
        index, topic = headers.get("thread-index", ""), headers.get("thread-topic")
        unit_of_work.unit(env.session).thread_headers[ticket] = (index, decode_header_value(topic))


def subject_of(ctx: MailContext) -> str:
    """The subject a mail opens its ticket with."""
    return ctx.mail.subject.strip() or "(no subject)"


def _new_ticket(ctx: MailContext, env: Env, linked: Ticket | None) -> None:
    customer = _sender_customer(ctx, env)
    actor = tickets.Actor(AuthorKind.CUSTOMER, customer.email)
    ticket = tickets.open_ticket(
        env.session,
        customer,
        subject_of(ctx),
        ctx.body,
        actor,
        env.now,
        linked=linked,
        scanned=ctx.scanned,
    )
    _post(ctx, env, ticket, MessageKind.PUBLIC, actor, customer)
    participants.add_participants(env.session, ticket, _others(ctx, env, ticket), actor, env.now)
    ctx.ticket = ticket
    if linked is None:
        ctx.finish("apply", Outcome.NEW_TICKET, f"opened {ticket.number} for {customer.email}")
    else:
        ctx.finish(
            "apply", Outcome.LINKED_TICKET, f"opened {ticket.number}, linked to {linked.number}"
        )


def _customer_reply(ctx: MailContext, env: Env, ticket: Ticket) -> None:
    token = ctx.match.token if ctx.match else None
    proven = customer_proven(token, ctx.customer.id if ctx.customer else None)
    stars = rating(ctx.mail.subject, ctx.body)
    if ticket.status in (Status.RESOLVED, Status.CLOSED) and stars is not None and proven:
        customer = _sender_customer(ctx, env)
        actor = tickets.Actor(AuthorKind.CUSTOMER, customer.email)
        tickets.update(env.session, ticket, {"satisfaction": stars}, actor, env.now)
        ctx.finish("apply", Outcome.REPLY, f"satisfaction {stars}/5 on {ticket.number}")
        return
    if ctx.customer_close and proven:
        _customer_close(ctx, env, ticket)
        return
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
    if not proven:
        if ctx.body.strip() or ctx.mail.attachments:
            _post(ctx, env, ticket, MessageKind.PUBLIC, actor, customer, verified=False)
        why = "the sender is only named by From:, not proven by their reply address"
        ctx.finish("apply", Outcome.REPLY, f"added to {ticket.number}, unverified: {why}")
        return
    if ctx.body.strip() or ctx.mail.attachments:
        _post(ctx, env, ticket, MessageKind.PUBLIC, actor, customer)
    tickets.set_status(env.session, ticket, decision.status, actor, env.now)
    participants.add_participants(env.session, ticket, _others(ctx, env, ticket), actor, env.now)
    ctx.finish("apply", Outcome.REPLY, f"added to {ticket.number} ({decision.reason})")


def _customer_close(ctx: MailContext, env: Env, ticket: Ticket) -> None:
    """The customer's ``#close``: it resolves an active ticket and never opens a new one, even
    on a ticket closed long ago; their words, if any, join the ticket either way."""
    customer = _sender_customer(ctx, env)
    actor = tickets.Actor(AuthorKind.CUSTOMER, customer.email)
    if ctx.body.strip() or ctx.mail.attachments:
        _post(ctx, env, ticket, MessageKind.PUBLIC, actor, customer)
    before = ticket.status
    tickets.set_status(env.session, ticket, lifecycle.on_customer_close(before), actor, env.now)
    if ticket.status is before:
        ctx.finish("apply", Outcome.REPLY, f"{ticket.number} was already {before.value}")
    else:
        ctx.finish("apply", Outcome.REPLY, f"the customer resolved {ticket.number}")


def _agent_mail(ctx: MailContext, env: Env) -> None:
    """An authenticated agent's mail: the reply or note first, then every command, in order."""
    assert ctx.agent is not None and ctx.plan is not None
    ctx.applied = True
    actor = tickets.Actor(AuthorKind.AGENT, ctx.agent.email, ctx.agent.id)
    ticket = ctx.ticket
    opening = ctx.plan.new_ticket_for
    if opening is not None:
        ticket = _open_for_customer(ctx, env, actor, opening)
    elif ticket is not None and (ctx.body.strip() or ctx.mail.attachments):
        _agent_post(ctx, env, ticket, actor)
    for change in ctx.plan.changes:
        assert ticket is not None, "changes were checked to have a ticket"
        effects.carry_out(env.session, ticket, change, actor, env.now)
    answered = [a for a in ctx.plan.actions if a.answers]
    if answered and ctx.outcome is None:
        ctx.finish("apply", Outcome.ANSWERED, f"#{answered[0].name} answered")
    ctx.ticket = ticket
    applied = ", ".join(f"#{a.name}" for a in ctx.plan.actions) or "reply"
    where = f" on {ticket.number}" if ticket is not None else ""
    if ctx.outcome is None:
        outcome = Outcome.COMMANDS if ctx.plan.actions else Outcome.REPLY
        ctx.finish("apply", outcome, f"{applied}{where} by {ctx.agent.email}")


def _open_for_customer(
    ctx: MailContext, env: Env, actor: tickets.Actor, opening: OpenFor
) -> Ticket:
    """With ``#internal`` the agent's text (and attachments) is a note, and the ticket's public
    description only says who opened it: the customer sees the description and the first
    public message, never the note."""
    email = opening.email
    customer = customers.customer_for(env.session, email, opening.name, env.now)
    internal = ctx.plan is not None and ctx.plan.internal
    description = f"Opened on your behalf by {actor.label}." if internal else ctx.body
    ticket = tickets.open_ticket(
        env.session, customer, subject_of(ctx), description, actor, env.now, first_words=ctx.body
    )
    if ctx.body.strip() or ctx.mail.attachments:
        kind = MessageKind.INTERNAL if internal else MessageKind.PUBLIC
        _post(ctx, env, ticket, kind, actor, None)
    ctx.finish("apply", Outcome.NEW_TICKET, f"opened {ticket.number} for {email} by {actor.label}")
    return ticket


def _agent_post(ctx: MailContext, env: Env, ticket: Ticket, actor: tickets.Actor) -> None:
    assert ctx.plan is not None
    if ctx.plan.internal:
        _post(ctx, env, ticket, MessageKind.INTERNAL, actor, None)
        return
    _post(ctx, env, ticket, MessageKind.PUBLIC, actor, None)
    status = lifecycle.on_agent_reply(ticket.status, ctx.plan.sets_status)
    tickets.set_status(env.session, ticket, status, actor, env.now)
