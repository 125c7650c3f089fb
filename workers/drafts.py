"""From an outbox row to a draft mail: its context completed at delivery (the reply address the
token makes, the sign-in link, the order's line, a digest's items, a report's figures), its
templates rendered, its attachments read."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select

from helpdesk.app import clock, links, orders
from helpdesk.app.runtime import App
from helpdesk.domain import tokens
from helpdesk.domain.mail.message import Attachment
from helpdesk.domain.notices import Audience
from storage.db import reading
from storage.models import Blob, MessageAttachment
from storage.outbox import Claim
from workers import charts
from workers.compose import Draft
from workers.render import Renderer


class Drafter:
    def __init__(self, app: App, renderer: Renderer) -> None:
        self.app = app
        self.renderer = renderer
        self.support = app.settings.support_addresses[0]
        self.reader = reading(app.engine)

    def draft(self, claim: Claim) -> Draft:
        """The mail of ``claim``, rendered; attachments are added by ``with_attachments``."""
        context = dict(claim.context)
        ticket = context.get("ticket", {})
        number, party = ticket.get("number", ""), context.get("party", "c")
        party_id = int(context.get("party_id", 0))
        reply = self.support
        if number:
            token = tokens.Token(number, tokens.Party(party), party_id)
            reply = tokens.reply_address(self.app.secret, self.support, token)
        context.update(support_address=self.support, reply_address=reply)
        to_customer = party == tokens.Party.CUSTOMER.value and claim.audience == Audience.CUSTOMER
        if to_customer or (context.get("signin") and party == tokens.Party.AGENT.value):
            now = clock.now(self.app.settings)
            context["portal_url"] = links.signin(self.app, tokens.Party(party), party_id, now)
        ref = ticket.get("external_ref", "")
        if ref and claim.audience == Audience.AGENT:  # asked now, outside any transaction
            context["order"] = orders.details(self.app, ref, clock.now(self.app.settings))
        if "items" in context:  # a digest: each item answered at its own ticket's address
            context["items"] = [self._with_reply_address(item) for item in context["items"]]
        chart = None
        if "chart" in context:  # a #report: its figures and chart, read and drawn now
            figures, chart = charts.answer(self.app, context["chart"])
            context["answers"] = [*context.get("answers", []), figures]
        text, html = self.renderer.render(claim.template, context)
        return Draft(
            template=claim.template,
            audience=claim.audience,
            recipient=claim.recipient,
            recipient_name=context.get("recipient_name", ""),
            message_id=claim.message_id,
            ticket_number=number,
            subject=ticket.get("subject", context.get("subject", "")),
            references=tuple(context.get("references", [])),
            reply_to=reply,
            created_at=claim.created_at,
            text=text,
            html=html,
            subject_prefix=str(context.get("subject_prefix", "")),
            thread_index=str(context.get("thread_index", "")),
            thread_topic=str(context.get("thread_topic", "")),
            attachments=(chart,) if chart else (),
        )

    def _with_reply_address(self, item: dict[str, Any]) -> dict[str, Any]:
        token = tokens.Token(
            item["ticket"]["number"], tokens.Party(item["party"]), int(item["party_id"])
        )
        return {**item, "reply_address": tokens.reply_address(self.app.secret, self.support, token)}

    def with_attachments(self, claim: Claim, draft: Draft) -> Draft:
        """Agents get every attachment of the message; a customer gets those of an agent's public
        reply, never their own and never a note's; a ``#report`` answer its chart."""
        if "chart" in claim.context:
            return draft  # the report's chart, attached with its figures (``draft``)
        message = claim.context.get("message") or {}
        public_by_agent = message.get("author_kind") == "agent" and message.get("kind") == "public"
        wanted = claim.audience == Audience.AGENT or public_by_agent
        if not wanted or claim.quoted_message_id is None:
            return draft
        with self.reader.connect() as connection:
            rows = connection.execute(
                select(MessageAttachment.filename, MessageAttachment.content_type, Blob.content)
                .join(Blob, Blob.sha256 == MessageAttachment.blob_sha256)
                .where(MessageAttachment.message_id == claim.quoted_message_id)
                .order_by(MessageAttachment.id)
            ).all()
        attachments = tuple(Attachment(name, ctype, content) for name, ctype, content in rows)
        return replace(draft, attachments=attachments)
