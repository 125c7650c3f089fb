"""Outlook's threading headers for our mails about a ticket (``Thread-Index``, ``Thread-Topic``).

Outlook threads by them, not by ``References``. The customer's last ``Thread-Index`` is read
from the headers of their last proven mail on the ticket, as stored (the raw mail is kept; no
column holds headers), and extended by one block; when they sent none, the ticket has a
conversation of its own. The values go into the outbox row's context, for ``workers.compose``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, func, select
from sqlalchemy.orm import Session

from helpdesk.app.unit_of_work import unit
from helpdesk.domain.mail import thread_index
from helpdesk.domain.mail.clean import normalized_subject
from helpdesk.domain.vocabulary import AuthorKind
from storage.models import InboundRaw, Message, Ticket


class Threads:
    """One unit of work's look-ups, one per ticket."""

    def __init__(self, session: Session, domain: str, now: datetime) -> None:
        self.session = session
        self.domain = domain
        self.now = now
        self._customers: dict[Ticket, tuple[str, str]] = {}

    def headers(self, ticket: Ticket, message_id: str) -> dict[str, str]:
        """The context keys ``thread_index`` and ``thread_topic`` of our mail ``message_id``."""
        index, topic = self._customer_thread(ticket)
        return {
            "thread_index": thread_index.reply_index(
                index, ticket.number, self.domain, ticket.created_at, self.now, message_id
            ),
            "thread_topic": thread_index.topic(topic, normalized_subject(ticket.subject)),
        }

    def _customer_thread(self, ticket: Ticket) -> tuple[str, str]:
        posted = unit(self.session).thread_headers.get(ticket)
        if posted is not None:  # the mail this unit of work posted: its headers are known
            return posted
        if ticket.id is None:  # opened here, by no proven customer mail
            return "", ""
        if ticket not in self._customers:
            # not flushed first: a flush per mail was half the cost of a batch of new tickets
            with self.session.no_autoflush:
                head = self._stored_head(ticket)
            self._customers[ticket] = thread_index.from_headers(head) if head else ("", "")
        return self._customers[ticket]

    def _stored_head(self, ticket: Ticket) -> bytes | None:
        """The first bytes of the customer's last proven mail on the ticket, as stored."""
        head: bytes | None = self.session.scalar(
            select(func.substr(InboundRaw.raw, 1, thread_index.HEAD_BYTES, type_=LargeBinary))
            .join(Message, Message.inbound_mail_id == InboundRaw.mail_id)
            .where(
                Message.ticket_id == ticket.id,
                Message.author_kind == AuthorKind.CUSTOMER,
                Message.verified.is_(True),
            )
            .order_by(Message.id.desc())
            .limit(1)
        )
        return head
