"""An outbox row, rendered, becomes a MIME mail with the headers that keep threads together.

``Reply-To`` and the envelope sender are ``support+<token>@…`` signed for this recipient and
ticket (see ``workers.delivery.draft_for``), so the answer (or a bounce) finds its ticket.
Every header value is checked for CR/LF.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from gateway.pipeline.parse import Attachment

AUTO_REPLIED = {
    "customer/ack",
    "customer/rejected",
    "customer/help",
    "agent/feedback",
    "agent/rejected_notice",
}


class HeaderInjection(ValueError):
    pass


def checked(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise HeaderInjection(f"CR or LF in a header value: {value[:80]!r}")
    return value


@dataclass(frozen=True)
class Draft:
    """Everything a mail is made of, from the outbox row and the rendered template."""

    template: str
    audience: str
    recipient: str
    recipient_name: str
    message_id: str
    ticket_number: str
    subject: str
    references: tuple[str, ...]
    reply_to: str
    created_at: datetime
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()


def subject_line(draft: Draft) -> str:
    if not draft.ticket_number:
        return f"Re: {draft.subject}" if draft.subject else "Your mail to support"
    tag = f"[{draft.ticket_number}]"
    return draft.subject if tag in draft.subject else f"{tag} {draft.subject}"


def compose(draft: Draft, support_address: str, display_name: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = checked(formataddr((display_name, support_address)))
    message["To"] = checked(formataddr((draft.recipient_name, draft.recipient)))
    message["Subject"] = checked(subject_line(draft))
    message["Date"] = format_datetime(draft.created_at)
    message["Message-ID"] = checked(draft.message_id)
    message["Reply-To"] = checked(draft.reply_to)
    if draft.references:
        message["In-Reply-To"] = checked(draft.references[-1])
        message["References"] = checked(" ".join(draft.references))
    if draft.ticket_number:
        message["X-Helpdesk-Ticket"] = checked(draft.ticket_number)
    if draft.template in AUTO_REPLIED:
        message["Auto-Submitted"] = "auto-replied"
    elif draft.audience == "agent" or draft.template != "customer/agent_reply":
        message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(draft.text)
    message.add_alternative(draft.html, subtype="html")
    for attachment in draft.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.content,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=checked(attachment.filename),
        )
    return message
