"""What the HTTP API asks of tickets, made as the same changes as by mail: a status or an
assignment is the command (``#status in_progress``, ``#assign group:billing``) checked by the
same plan, with the same roles, state machine, events, notifications and timers; a comment is
an agent's reply or note, or a customer's reply.

This is where the HTTP side's text comes in, so every text it is given passes ``clean`` here
(card numbers and IBANs masked, as a mail's are when it is decoded)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from helpdesk.app import customers, effects, team, tickets, timers
from helpdesk.app.feedback import view_of
from helpdesk.app.notifications import Planner
from helpdesk.app.settings import Settings
from helpdesk.app.unit_of_work import unit
from helpdesk.domain import lifecycle
from helpdesk.domain.commands import grammar
from helpdesk.domain.commands.base import Scope
from helpdesk.domain.commands.grammar import Problem
from helpdesk.domain.commands.plan import plan
from helpdesk.domain.sensitive import mask
from helpdesk.domain.vocabulary import AuthorKind, MessageKind, Priority
from storage.models import Agent, Customer, Message, Outbox, Ticket


@dataclass
class Done:
    """What a request did: the problems that stopped it (nothing was changed then), or the
    mails it calls for (and the message it posted, on the ticket it went to)."""

    problems: list[Problem] = field(default_factory=list)
    outbox: list[Outbox] = field(default_factory=list)
    message: Message | None = None
    ticket: Ticket | None = None


def command(
    session: Session, settings: Settings, agent: Agent, ticket: Ticket, line: str, now: datetime
) -> Done:
    """One command line, as if at the top of the agent's reply about ``ticket``."""
    parsed = grammar.parse(clean(line))
    me = team.agent_info(session, agent)
    found = plan(
        parsed, me, Scope.TICKET, view_of(ticket), team.directory(session, settings.category_names)
    )
    if found.problems:
        return Done(problems=found.problems)
    actor = tickets.Actor(AuthorKind.AGENT, agent.email, agent.id)
    for change in found.changes:
        effects.carry_out(session, ticket, change, actor, now)
    return Done(outbox=_finish(session, settings, ticket, now))


def close_own(session: Session, settings: Settings, ticket: Ticket, now: datetime) -> Done:
    """The customer's close, as their ``#close`` by mail: an active ticket is resolved (a
    reply reopens it), one resolved or closed already stays as it is."""
    actor = tickets.Actor(AuthorKind.CUSTOMER, ticket.customer.email)
    tickets.set_status(session, ticket, lifecycle.on_customer_close(ticket.status), actor, now)
    return Done(outbox=_finish(session, settings, ticket, now))


def comment(
    session: Session,
    settings: Settings,
    ticket: Ticket,
    body: str,
    now: datetime,
    *,
    agent: Agent | None = None,
    customer: Customer | None = None,
    internal: bool = False,
) -> Done:
    """An agent's public reply or internal note, or the customer's reply (never internal),
    with what each does by mail: an agent's reply waits for the customer; a customer's reply
    reopens a ticket waiting for them (or resolved within the reopen window), and to one long
    resolved or closed opens a new ticket linked to it."""
    text = clean(body)
    if agent is not None:
        actor = tickets.Actor(AuthorKind.AGENT, agent.email, agent.id)
        kind = MessageKind.INTERNAL if internal else MessageKind.PUBLIC
        message = tickets.add_message(session, ticket, kind, actor, text, now)
        if kind is MessageKind.PUBLIC:
            moved = lifecycle.on_agent_reply(ticket.status, sets_status=False)
            tickets.set_status(session, ticket, moved, actor, now)
        return Done(outbox=_finish(session, settings, ticket, now), message=message, ticket=ticket)
    assert customer is not None
    actor = tickets.Actor(AuthorKind.CUSTOMER, customer.email)
    window = timedelta(days=settings.reopen_window_days)
    decision = lifecycle.customer_reply(ticket.status, ticket.resolved_at, now, window)
    if decision.effect is lifecycle.ReplyEffect.NEW_LINKED_TICKET:
        ticket = tickets.open_ticket(
            session, customer, ticket.subject, text, actor, now, linked=ticket
        )
    message = tickets.add_message(
        session, ticket, MessageKind.PUBLIC, actor, text, now, customer=customer
    )
    if decision.effect is lifecycle.ReplyEffect.REOPEN:
        tickets.set_status(session, ticket, decision.status, actor, now)
    return Done(outbox=_finish(session, settings, ticket, now), message=message, ticket=ticket)


def clean(text: str) -> str:
    """As the mail's text is made fit to keep: no NUL (PostgreSQL refuses it in text), and
    card numbers and IBANs masked."""
    return mask(text.replace("\x00", ""))


def open_ticket(
    session: Session,
    settings: Settings,
    email: str,
    name: str,
    subject: str,
    description: str,
    priority: Priority,
    category: str,
    now: datetime,
    agent: Agent | None = None,
) -> tuple[Ticket, Done]:
    """A ticket for ``email``: their own, or opened on their behalf by ``agent``."""
    customer = customers.customer_for(session, email, clean(name), now)
    actor = (
        tickets.Actor(AuthorKind.AGENT, agent.email, agent.id)
        if agent is not None
        else tickets.Actor(AuthorKind.CUSTOMER, customer.email)
    )
    subject, description = clean(subject), clean(description)
    ticket = tickets.open_ticket(session, customer, subject, description, actor, now)
    fields: dict[str, object] = {}
    if priority is not Priority.MEDIUM:
        fields["priority"] = priority
    if category != ticket.category:
        fields["category"] = category
    if fields:
        tickets.update(session, ticket, fields, actor, now)
    tickets.add_message(
        session,
        ticket,
        MessageKind.PUBLIC,
        actor,
        description,
        now,
        customer=customer if agent is None else None,
    )
    return ticket, Done(outbox=_finish(session, settings, ticket, now))


def _finish(session: Session, settings: Settings, ticket: Ticket, now: datetime) -> list[Outbox]:
    """The mails the changes call for, and the ticket's timers, in the same transaction."""
    rows = Planner(session, settings, now).plan(unit(session).events)
    timers.schedule(session, ticket, now, settings.timer_policy)
    session.flush()
    return rows
