"""Gather what the database knows about the mail's token, references and subject; then match."""

from __future__ import annotations

from sqlalchemy import select

from helpdesk.app.pipeline.context import Env, MailContext
from helpdesk.domain.match import (
    ThreadFacts,
    TicketFacts,
    match_thread,
    recipient_tokens,
    subject_number,
)
from storage.models import Customer, Message, Outbox, Ticket, TicketParticipant


def ticket_facts(env: Env, ticket: Ticket | None) -> TicketFacts | None:
    if ticket is None:
        return None
    participants = env.session.scalars(
        select(Customer.email)
        .join(TicketParticipant, TicketParticipant.customer_id == Customer.id)
        .where(TicketParticipant.ticket_id == ticket.id)
    )
    parties = frozenset([ticket.customer.email, *participants])
    return TicketFacts(ticket.id, ticket.number, ticket.status, ticket.resolved_at, parties)


def _by_number(env: Env, number: str | None) -> Ticket | None:
    if number is None:
        return None
    return env.session.scalar(select(Ticket).where(Ticket.number == number))


def gather(ctx: MailContext, env: Env) -> ThreadFacts:
    mail = ctx.mail
    addresses = [*ctx.envelope.envelope_to, *(a.email for a in mail.recipients)]
    found = recipient_tokens(
        addresses, env.settings.support_addresses, env.secret, env.previous_secrets
    )
    by_token = next(((t, _by_number(env, t.ticket_number)) for t in found), (None, None))
    references = [*mail.in_reply_to, *reversed(mail.references)][:50]
    ours = their = None
    if references:
        ours = env.session.scalar(
            select(Ticket).join(Outbox).where(Outbox.message_id.in_(references)).limit(1)
        )
        their = env.session.scalar(
            select(Ticket).join(Message).where(Message.message_id.in_(references)).limit(1)
        )
    return ThreadFacts(
        by_token=ticket_facts(env, by_token[1]),
        token=by_token[0] if by_token[1] is not None else None,
        by_our_reference=ticket_facts(env, ours),
        by_their_reference=ticket_facts(env, their),
        by_subject=ticket_facts(env, _by_number(env, subject_number(mail.subject))),
    )


def stage(ctx: MailContext, env: Env) -> None:
    assert ctx.sender is not None
    facts = gather(ctx, env)
    ctx.match = match_thread(facts, ctx.sender.email, ctx.agent is not None)
    if ctx.match.ticket is not None:
        # locked until the unit of work ends: a command by the CLI or another way in waits
        ctx.ticket = env.session.get(Ticket, ctx.match.ticket.id, with_for_update=True)
        ctx.decide("thread", f"{ctx.match.ticket.number} by {ctx.match.reason}")
    else:
        ctx.decide("thread", ctx.match.reason)
