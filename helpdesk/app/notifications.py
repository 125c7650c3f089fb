"""Who hears about what: the events of a unit of work become outbox rows, in the same transaction.

Each row carries a snapshot of what its template needs, so delivery later renders exactly what
was true when the change was made. Customer-facing rows never carry an internal note (invariant
4): only public message text is ever put into a customer's context.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.app import webhooks
from helpdesk.app.answer_limits import AnswerLimits
from helpdesk.app.notifications_thread import Threads
from helpdesk.app.settings import Settings
from helpdesk.app.template_context import (
    Recipient,
    message_id_for,
    template_context,
    ticketless_context,
)
from helpdesk.app.unit_of_work import active_agents, answerable, present_agents, unit
from helpdesk.domain import digests
from helpdesk.domain.notices import Audience, Template
from helpdesk.domain.tokens import Party, is_ours
from helpdesk.domain.vocabulary import AuthorKind, EventKind, MessageKind, OutboxStatus
from storage.db import assign_id
from storage.models import (
    Agent,
    Customer,
    Message,
    Outbox,
    Ticket,
    TicketEvent,
    TicketParticipant,
)


class Planner:
    """Turns the events of one unit of work into outbox rows."""

    def __init__(self, session: Session, settings: Settings, now: datetime) -> None:
        self.session = session
        self.settings = settings
        self.now = now
        self.domain = settings.support_addresses[0].rpartition("@")[2]
        self._firsts: dict[Ticket, Message | None] = {}
        self.limits = AnswerLimits(session, settings, now)
        self.threads = Threads(session, self.domain, now)

    def plan(self, events: Iterable[TicketEvent], *, automated: bool = False) -> list[Outbox]:
        rows: list[Outbox] = []
        created = {e.ticket for e in events if e.kind is EventKind.TICKET_CREATED}
        for event in events:
            ticket = event.ticket
            rows += self._for_event(event, ticket, event.message, automated, ticket in created)
        self.session.add_all(rows)
        webhooks.plan(self.session, events, self.now)  # and the webhooks' deliveries
        return rows

    def _for_event(
        self,
        event: TicketEvent,
        ticket: Ticket,
        message: Message | None,
        automated: bool,
        new_ticket: bool,
    ) -> list[Outbox]:
        kind, by_agent = event.kind, event.actor_kind is AuthorKind.AGENT
        if kind is EventKind.TICKET_CREATED:
            acks = [] if automated else self._ack(ticket)
            return acks + self._to_agents(ticket, Template.AGENT_NEW_TICKET, event, message=None)
        if kind is EventKind.TICKET_COMMENTED and message is not None:
            return self._comment(event, ticket, message, new_ticket)
        if kind is EventKind.TICKET_ASSIGNED:
            return self._assigned(event, ticket)
        if kind is EventKind.TICKET_RESOLVED:
            timed_out = event.actor_kind is AuthorKind.SYSTEM
            template = Template.CUSTOMER_AUTO_RESOLVED if timed_out else Template.CUSTOMER_RESOLVED
            return self._to_customers(ticket, template, event)
        if kind is EventKind.TICKET_CLOSED and by_agent:
            return self._to_customers(ticket, Template.CUSTOMER_CLOSED, event)
        return []

    def _comment(
        self, event: TicketEvent, ticket: Ticket, message: Message, new_ticket: bool
    ) -> list[Outbox]:
        if message.kind is MessageKind.INTERNAL:
            return self._to_agents(ticket, Template.AGENT_INTERNAL_NOTE, event, message=message)
        if message.kind is not MessageKind.PUBLIC or new_ticket:
            return []  # the acknowledgement and the new-ticket alert carry the first message
        if message.author_kind is AuthorKind.AGENT:
            return self._to_customers(ticket, Template.CUSTOMER_AGENT_REPLY, event, message=message)
        return self._to_agents(ticket, Template.AGENT_CUSTOMER_REPLY, event, message=message)

    def _assigned(self, event: TicketEvent, ticket: Ticket) -> list[Outbox]:
        rows = self._to_agents(ticket, Template.AGENT_ASSIGNED, event, message=None)
        if not event.before.get("assignee"):
            rows += self._to_customers(ticket, Template.CUSTOMER_ASSIGNED, event)
        return rows

    def _ack(self, ticket: Ticket) -> list[Outbox]:
        customer = ticket.customer
        if customer.bouncing or self._is_ours(customer.email):
            return []
        if not self.limits.allow(customer.email):
            return []
        first = self._first_message(ticket)
        return [self._row(ticket, self._customer(customer), Template.CUSTOMER_ACK, first)]

    def preload(self, emails: Iterable[str]) -> None:
        """Read ahead what planning for mail from ``emails`` will ask: one query for a batch."""
        self.limits.preload(emails)

    def rejected(self, email: str, name: str, subject: str, reasons: str) -> Outbox | None:
        """The explanatory reply to a mail that could not become a ticket."""
        if self._is_ours(email) or not self.limits.allow(email):
            return None
        row = Outbox(
            message_id=message_id_for("rejected", self.domain),
            ticket_id=None,
            template=Template.CUSTOMER_REJECTED,
            recipient=email,
            audience=Template.CUSTOMER_REJECTED.audience,
            context={"recipient_name": name, "subject": subject, "reasons": reasons},
            next_attempt_at=self.now,
            created_at=self.now,
        )
        self.session.add(row)
        return row

    def feedback(
        self, agent: Agent, ticket: Ticket | None, extra: dict[str, Any], in_reply_to: str
    ) -> Outbox | None:
        """The short answer to an agent's command mail, threaded under it."""
        if not self.limits.allow(agent.email, agent=True):
            return None
        return self._direct(
            Template.AGENT_FEEDBACK, Recipient.agent(agent), ticket, extra, in_reply_to
        )

    def notice(self, agent: Agent, extra: dict[str, Any]) -> Outbox | None:
        """Tell an agent that a mail in their name was not applied (it may be forged)."""
        if not self.limits.allow(agent.email, agent=True):
            return None
        return self._direct(Template.AGENT_REJECTED_NOTICE, Recipient.agent(agent), None, extra, "")

    def sla_alert(self, agent: Agent, ticket: Ticket, extra: dict[str, Any]) -> Outbox:
        """An SLA warning or breach, with the ticket's reply address to act on it."""
        return self._direct(Template.AGENT_SLA_ALERT, Recipient.agent(agent), ticket, extra, "")

    def escalation(self, agent: Agent, ticket: Ticket, extra: dict[str, Any]) -> Outbox:
        """A supervisor told that a ticket has had no agent activity for a long time."""
        return self._direct(Template.AGENT_ESCALATED, Recipient.agent(agent), ticket, extra, "")

    def timeout_notice(self, ticket: Ticket, kind: str, extra: dict[str, Any]) -> Outbox:
        """The customer's reminder that a ticket waiting for them will soon be resolved."""
        extra = {**extra, "timer": kind}
        recipient = self._customer(ticket.customer)
        return self._direct(Template.CUSTOMER_REMINDER, recipient, ticket, extra, "")

    def help_reply(self, email: str, name: str, in_reply_to: str) -> Outbox | None:
        if self._is_ours(email) or not self.limits.allow(email):
            return None
        recipient = Recipient(email, name, Party.CUSTOMER, 0)
        return self._direct(Template.CUSTOMER_HELP, recipient, None, {}, in_reply_to)

    def _direct(
        self,
        template: Template,
        recipient: Recipient,
        ticket: Ticket | None,
        extra: dict[str, Any],
        in_reply_to: str,
    ) -> Outbox:
        if ticket is not None:
            context = template_context(ticket, recipient, self._first_message(ticket), None, None)
        else:
            context = ticketless_context(recipient)
        if in_reply_to:
            context["references"] = [*context["references"], in_reply_to]
        context.update(extra)
        message_id = message_id_for(ticket.number if ticket else "direct", self.domain)
        if ticket is not None:
            context.update(self.threads.headers(ticket, message_id))
        row = Outbox(
            message_id=message_id,
            ticket=ticket,
            template=template,
            recipient=recipient.email,
            audience=template.audience,
            context=context,
            next_attempt_at=self.now,
            created_at=self.now,
        )
        self.session.add(row)
        return row

    def _is_ours(self, email: str) -> bool:
        return is_ours(email, self.settings.support_addresses)

    def _to_customers(
        self, ticket: Ticket, template: Template, event: TicketEvent, message: Message | None = None
    ) -> list[Outbox]:
        people = [ticket.customer, *self._participants(ticket)]
        return [
            self._row(ticket, self._customer(c), template, message, event)
            for c in people
            if not self._is_ours(c.email)
        ]

    def _to_agents(
        self, ticket: Ticket, template: Template, event: TicketEvent, message: Message | None
    ) -> list[Outbox]:
        author = event.actor
        rows = [
            self._row(ticket, agent, template, message or self._first_message(ticket), event)
            for agent in self._agents_for(ticket)
            if agent.email != author
        ]
        for row in rows:
            self._hold_for_digest(row, template, ticket)
        return rows

    def _hold_for_digest(self, row: Outbox, template: Template, ticket: Ticket) -> None:
        """Held until the end of the agent's digest period (``helpdesk.app.digests``)."""
        agent = active_agents(self.session).get(row.recipient)
        period = agent.digest_minutes if agent is not None else None
        if period and digests.gathered(template, ticket.priority, period):
            row.status, row.next_attempt_at = OutboxStatus.HELD, digests.due(self.now, period)

    def _agents_for(self, ticket: Ticket) -> list[Recipient]:
        """Who answers for the ticket (``answerable``); an unassigned one is the open queue's:
        every active agent."""
        if ticket.assignee_agent_id is None and ticket.assignee_group_id is None:
            return [Recipient.agent(a) for a in present_agents(self.session, self.now)]
        return [Recipient.agent(a) for a in answerable(self.session, ticket, self.now)]

    def _participants(self, ticket: Ticket) -> list[Customer]:
        if ticket.id is None:
            self.session.flush()  # opened in this unit of work: its participants may be too
        return list(
            self.session.scalars(
                select(Customer)
                .join(TicketParticipant, TicketParticipant.customer_id == Customer.id)
                .where(TicketParticipant.ticket_id == ticket.id)
                .order_by(Customer.id)
            )
        )

    def _customer(self, customer: Customer) -> Recipient:
        """The Reply-To token names the customer's id: a new customer gets it now."""
        return Recipient(
            customer.email, customer.name, Party.CUSTOMER, assign_id(self.session, customer)
        )

    def _first_message(self, ticket: Ticket) -> Message | None:
        if ticket not in self._firsts:
            known = unit(self.session).first_public.get(ticket)
            if known is not None or ticket.id is None:
                return known
            self._firsts[ticket] = self.session.scalar(
                select(Message)
                .where(Message.ticket_id == ticket.id, Message.kind == MessageKind.PUBLIC)
                .order_by(Message.id)
                .limit(1)
            )
        return self._firsts[ticket]

    def _row(
        self,
        ticket: Ticket,
        recipient: Recipient,
        template: Template,
        message: Message | None,
        event: TicketEvent | None = None,
    ) -> Outbox:
        audience = template.audience
        if audience is Audience.CUSTOMER and message and message.kind is not MessageKind.PUBLIC:
            raise ValueError(f"refusing to put a {message.kind.value} message in a customer mail")
        message_id = message_id_for(ticket.number, self.domain)
        context = template_context(ticket, recipient, self._first_message(ticket), message, event)
        return Outbox(
            message_id=message_id,
            ticket=ticket,
            event=event,
            quoted=message,
            template=template,
            recipient=recipient.email,
            audience=audience,
            context=context | self.threads.headers(ticket, message_id),
            next_attempt_at=self.now,
            created_at=self.now,
        )
