"""What a notification's template is given: a snapshot of the ticket, the recipient (whose
token the Reply-To carries), the message it quotes and the event it tells of."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from helpdesk.domain.tokens import Party
from storage.models import Agent, Message, Ticket, TicketEvent


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    party: Party
    party_id: int

    @classmethod
    def agent(cls, agent: Agent) -> Recipient:
        return cls(agent.email, agent.name, Party.AGENT, agent.id)


def message_id_for(ticket_number: str, domain: str) -> str:
    return f"<{uuid.uuid4().hex}.{ticket_number.lower()}@{domain}>"


def ticketless_context(recipient: Recipient) -> dict[str, Any]:
    """What a mail about no ticket is given (an answer to a command, a rejection notice)."""
    return {
        "recipient_name": recipient.name,
        "party": recipient.party.value,
        "party_id": recipient.party_id,
        "references": [],
    }


def template_context(
    ticket: Ticket,
    recipient: Recipient,
    root: Message | None,
    message: Message | None,
    event: TicketEvent | None,
) -> dict[str, Any]:
    """What a template may show, as it is now: the row keeps it, so delivery renders what was
    true when the change was made."""
    references = [m for m in (root.message_id if root else "",) if m]
    if message is not None and message.message_id and message.message_id not in references:
        references.append(message.message_id)
    context: dict[str, Any] = {
        "recipient_name": recipient.name,
        "party": recipient.party.value,
        "party_id": recipient.party_id,
        "ticket": {
            "number": ticket.number,
            "subject": ticket.subject,
            "status": ticket.status.value,
            "priority": ticket.priority.value,
            "category": ticket.category,
            "customer_email": ticket.customer.email,
            "customer_name": ticket.customer.name,
            "resolution_notes": ticket.resolution_notes,
            "assignee": _assignee(ticket),
            "external_ref": ticket.external_ref,
            "tags": list(ticket.tags),
        },
        "references": references,
        "event": {
            "kind": event.kind.value if event else "",
            "actor": event.actor if event else "",
            "before": dict(event.before) if event else {},
            "after": dict(event.after) if event else {},
        },
    }
    if message is not None:
        context["message"] = {
            "kind": message.kind.value,
            "author": message.author_email,
            "author_kind": message.author_kind.value,
            "body": message.body,
            "verified": message.verified,
        }
    return context


def _assignee(ticket: Ticket) -> str:
    if ticket.assignee_agent is not None:
        return ticket.assignee_agent.name
    if ticket.assignee_group is not None:
        return ticket.assignee_group.name
    return ""
