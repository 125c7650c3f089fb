"""Deliver one outbox row: claim it, render it, hand it over, record what the other side said.

At-least-once job delivery meets at-most-once sending here: a row is claimed with a lease by an
atomic UPDATE, so two copies of the same job (a redelivery, a reconciler re-enqueue) never send
it twice; a row already sent is skipped. The one window left, a crash after the smarthost said 250
and before the row is marked, resends with the same Message-ID, which receivers recognise.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.policy import SMTP

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from gateway import tokens
from gateway.bootstrap import App
from gateway.pipeline.parse import Attachment
from storage.db import reading
from storage.models import Blob, Customer, MessageAttachment, Outbox, OutboxStatus
from workers.compose import Draft, compose
from workers.render import Renderer
from workers.transport import DeliveryError, Transport

log = logging.getLogger("helpdesk.delivery")
# CRLF line ends, as on the wire; and no folding below 998 characters, because the email
# package otherwise RFC 2047-encodes a long Message-ID in In-Reply-To/References, which breaks
# threading in every mail client.
WIRE = SMTP.clone(max_line_length=998)
DISPLAY_NAME = "Support"
EARLY = timedelta(seconds=1)  # a delayed retry may wake a little before its row is due


class Delivered(enum.StrEnum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Result:
    state: Delivered
    retry_in: float = 0.0
    reply: str = ""


def claim(app: App, outbox_id: int, now: datetime) -> Outbox | None:
    """Take the row for one attempt and read it; None when it is sent, failed, not due, or
    leased. One statement: the claim and the read cost one transaction."""
    lease = now + timedelta(seconds=app.settings.delivery_lease_seconds)
    with app.sessions.begin() as session:
        return session.scalars(
            update(Outbox)
            .where(
                Outbox.id == outbox_id,
                Outbox.status == OutboxStatus.PENDING,
                Outbox.next_attempt_at <= now + EARLY,
                or_(Outbox.lease_until.is_(None), Outbox.lease_until < now),
            )
            .values(lease_until=lease, attempts=Outbox.attempts + 1)
            .returning(Outbox)
        ).first()


def draft_for(row: Outbox, renderer: Renderer, secret: bytes, support_address: str) -> Draft:
    """The mail of ``row``, rendered; attachments are added by ``with_attachments``."""
    context = dict(row.context)
    ticket = context.get("ticket", {})
    number, party = ticket.get("number", ""), context.get("party", "c")
    party_id = int(context.get("party_id", 0))
    reply = support_address
    if number:
        token = tokens.Token(number, tokens.Party(party), party_id)
        reply = tokens.reply_address(secret, support_address, token)
    context.update(support_address=support_address, reply_address=reply)
    text, html = renderer.render(row.template, context)
    return Draft(
        template=row.template,
        audience=row.audience,
        recipient=row.recipient,
        recipient_name=context.get("recipient_name", ""),
        message_id=row.message_id,
        ticket_number=number,
        subject=ticket.get("subject", context.get("subject", "")),
        references=tuple(context.get("references", [])),
        reply_to=reply,
        created_at=row.created_at,
        text=text,
        html=html,
    )


def with_attachments(app: App, row: Outbox, draft: Draft) -> Draft:
    """Agents get every attachment of the message; a customer gets an agent's, never their own."""
    message = row.context.get("message") or {}
    wanted = row.audience == "agent" or message.get("author_kind") == "agent"
    if not wanted or message.get("id") is None:
        return draft
    with Session(reading(app.engine)) as session:
        rows = session.execute(
            select(MessageAttachment.filename, MessageAttachment.content_type, Blob.content)
            .join(Blob, Blob.sha256 == MessageAttachment.blob_sha256)
            .where(MessageAttachment.message_id == message["id"])
            .order_by(MessageAttachment.id)
        ).all()
    attachments = tuple(Attachment(name, ctype, content) for name, ctype, content in rows)
    return replace(draft, attachments=attachments)


def deliver(app: App, renderer: Renderer, transport: Transport, outbox_id: int) -> Result:
    row = claim(app, outbox_id, datetime.now(UTC))
    if row is None:
        return Result(Delivered.SKIPPED)
    support = app.settings.support_addresses[0]
    draft = with_attachments(app, row, draft_for(row, renderer, app.secret, support))
    mail = compose(draft, support, DISPLAY_NAME)
    try:
        data = mail.as_bytes(policy=WIRE)
        answer = transport.send(str(mail["Reply-To"]), draft.recipient, data)
    except DeliveryError as exc:
        return _failed(app, outbox_id, exc)
    _finish(app, outbox_id, OutboxStatus.SENT, answer)
    log.info("%s: sent %s to %s", draft.message_id, draft.template, draft.recipient)
    return Result(Delivered.SENT, reply=answer)


def _failed(app: App, outbox_id: int, exc: DeliveryError) -> Result:
    settings = app.settings
    with app.sessions.begin() as session:
        row = session.get(Outbox, outbox_id)
        assert row is not None
        give_up = exc.permanent or row.attempts >= settings.delivery_attempts
        delay = min(settings.delivery_backoff_seconds * 2 ** (row.attempts - 1), 6 * 3600)
        row.last_error, row.smtp_reply, row.lease_until = exc.reply[:2000], exc.reply[:2000], None
        if give_up:
            row.status = OutboxStatus.FAILED
            _mark_failing(session, row.recipient, exc.reply)
        else:
            row.next_attempt_at = datetime.now(UTC) + timedelta(seconds=delay)
    log.warning("%s: delivery to %s failed: %s", row.message_id, row.recipient, exc.reply)
    if give_up:
        return Result(Delivered.FAILED, reply=exc.reply)
    return Result(Delivered.RETRY, retry_in=delay, reply=exc.reply)


def _mark_failing(session: Session, address: str, reply: str) -> None:
    customer = session.scalar(select(Customer).where(Customer.email == address))
    if customer is not None:
        customer.bouncing, customer.bounce_reason = True, reply[:2000]


def _finish(app: App, outbox_id: int, status: OutboxStatus, reply: str) -> None:
    with app.sessions.begin() as session:
        session.execute(
            update(Outbox)
            .where(Outbox.id == outbox_id)
            .values(
                status=status,
                smtp_reply=reply[:2000],
                sent_at=datetime.now(UTC),
                lease_until=None,
                last_error="",
            )
        )


def due_ids(app: App, now: datetime, limit: int = 1000) -> list[int]:
    """Pending rows whose time has come and that nobody holds: what the reconciler re-enqueues."""
    with app.sessions() as session:
        return list(
            session.scalars(
                select(Outbox.id)
                .where(
                    Outbox.status == OutboxStatus.PENDING,
                    Outbox.next_attempt_at <= now,
                    or_(Outbox.lease_until.is_(None), Outbox.lease_until < now),
                )
                .order_by(Outbox.id)
                .limit(limit)
            )
        )
