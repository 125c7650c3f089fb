"""An outbox row, rendered, becomes a MIME mail with the headers that keep threads together.

``Thread-Index`` and ``Thread-Topic`` are Outlook's: it threads by them, not by ``References``.
``Reply-To`` and the envelope sender are ``support+<token>@…`` signed for this recipient and
ticket (see ``workers.delivery.Deliverer``), so the answer (or a bounce) finds its ticket.
Every header value is checked for CR/LF.

The mail is built from compat32 ``Message`` objects, a few times cheaper than ``EmailMessage``
with its header registry: every header value is put in its final form here. ASCII values stay as
they are (compat32 never RFC 2047-encodes them, so a long Message-ID in ``In-Reply-To`` keeps
threading in every mail client); a subject that is not becomes encoded words of at most 75
characters on folded lines, a display name one encoded word (``formataddr``). Text parts go out
as 7bit when they can, else quoted-printable; attachments as base64.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.message import Message
from email.policy import Compat32
from email.utils import format_datetime, formataddr

from helpdesk.domain.mail.message import Attachment
from helpdesk.domain.notices import AUTO_REPLIED, Audience, Template

CRLF = "\r\n"
MAX_LINE = 998  # RFC 5322: characters in a line, without its CRLF


class WirePolicy(Compat32):
    """compat32 with CRLF line ends, as on the wire; a header line folds (at whitespace) only
    beyond 998 characters, and one that fits, in ASCII, is written as it is, without the cost
    of ``Header``."""

    def fold_binary(self, name: str, value: str) -> bytes:
        line = f"{name}: {value}"
        one_line = "\r" not in line and "\n" not in line
        if isinstance(value, str) and len(line) <= MAX_LINE and line.isascii() and one_line:
            return (line + CRLF).encode("ascii")
        if isinstance(value, str) and one_line and not line.isascii():
            return _utf8_folded(line)
        return super().fold_binary(name, value)


def _utf8_folded(line: str) -> bytes:
    """A header left in UTF-8 on purpose (RFC 6532: an international address or Message-ID;
    every other text is made ASCII by ``_encoded`` first), folded at spaces within 998 bytes.
    Such a mail goes out with SMTPUTF8 (``transport``)."""
    folded, current = [], b""
    for word in line.encode("utf-8").split(b" "):
        if current and len(current) + 1 + len(word) > MAX_LINE:
            folded.append(current)
            current = word
        else:
            current = current + b" " + word if current else word
    folded.append(current)
    return b"\r\n ".join(folded) + b"\r\n"


WIRE = WirePolicy(linesep=CRLF, max_line_length=MAX_LINE)


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
    subject_prefix: str = ""  # what the mail is about before the ticket: "SLA breach:"
    thread_index: str = ""  # Outlook's threading (``helpdesk.domain.mail.thread_index``)
    thread_topic: str = ""


def subject_line(draft: Draft) -> str:
    if not draft.ticket_number:
        if draft.subject_prefix:  # about no one mail: a digest
            return f"{draft.subject_prefix} {draft.subject}"
        return f"Re: {draft.subject}" if draft.subject else "Your mail to support"
    tag = f"[{draft.ticket_number}]"
    line = draft.subject if tag in draft.subject else f"{tag} {draft.subject}"
    return f"{draft.subject_prefix} {line}" if draft.subject_prefix else line


def _encoded(name: str, value: str) -> str:
    """``value`` for the header ``name``: as it is when ASCII, else as RFC 2047 encoded words."""
    if checked(value).isascii():
        return value
    return Header(value, "utf-8", header_name=name).encode(linesep=CRLF)


def _address(name: str, address: str) -> str:
    """``Name <address>``; an international address (``formataddr`` takes only ASCII ones) is
    kept in UTF-8, its name encoded as for an ASCII one."""
    if address.isascii():
        return formataddr((name, address))
    return f"{formataddr((name, 'x@x')).rpartition('<')[0]}<{address}>" if name else address


def compose(draft: Draft, support_address: str, display_name: str) -> Message:
    message = Message()
    message["From"] = checked(formataddr((display_name, support_address)))
    message["To"] = checked(_address(draft.recipient_name, draft.recipient))
    message["Subject"] = _encoded("Subject", subject_line(draft))
    message["Date"] = format_datetime(draft.created_at)
    message["Message-ID"] = checked(draft.message_id)
    message["Reply-To"] = checked(draft.reply_to)
    if draft.references:
        message["In-Reply-To"] = checked(draft.references[-1])
        message["References"] = checked(" ".join(draft.references))
    if draft.ticket_number:
        message["X-Helpdesk-Ticket"] = checked(draft.ticket_number)
    if draft.thread_index:
        message["Thread-Index"] = checked(draft.thread_index)
    if draft.thread_index and draft.thread_topic:
        message["Thread-Topic"] = _encoded("Thread-Topic", draft.thread_topic)
    if draft.template in AUTO_REPLIED:
        message["Auto-Submitted"] = "auto-replied"
    elif draft.audience == Audience.AGENT or draft.template != Template.CUSTOMER_AGENT_REPLY:
        message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message["MIME-Version"] = "1.0"
    token = _boundary_token(draft.text, draft.html)
    text = (_text_part("plain", draft.text), _text_part("html", draft.html))
    if not draft.attachments:
        _fill_multipart(message, "alternative", token, text)
        return message
    alternative = _fill_multipart(Message(), "alternative", token, text)
    attachments = (_attachment_part(a) for a in draft.attachments)
    return _fill_multipart(message, "mixed", token, (alternative, *attachments))


def _boundary_token(*texts: str) -> str:
    """Random, and in none of the 7bit parts; ``=_`` (in every boundary) is never in
    quoted-printable or base64 content."""
    while True:
        token = secrets.token_hex(16)
        if not any(token in text for text in texts):
            return token


def _fill_multipart(
    container: Message, subtype: str, token: str, parts: tuple[Message, ...]
) -> Message:
    container["Content-Type"] = f'multipart/{subtype}; boundary="=_{subtype}_{token}"'
    for part in parts:
        container.attach(part)
    return container


def _text_part(subtype: str, content: str) -> Message:
    lines = content.encode().splitlines()
    body = b"\n".join(lines) + b"\n"
    part = Message()
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
    if body.isascii() and max(map(len, lines), default=0) <= MAX_LINE:
        part["Content-Transfer-Encoding"] = "7bit"
        part.set_payload(body.decode("ascii"))
    else:
        part["Content-Transfer-Encoding"] = "quoted-printable"
        part.set_payload(binascii.b2a_qp(body, istext=True).decode("ascii"))
    return part


def _attachment_part(attachment: Attachment) -> Message:
    maintype, _, subtype = checked(attachment.content_type).partition("/")
    filename = checked(attachment.filename)
    part = Message()
    part["Content-Type"] = f"{maintype or 'application'}/{subtype or 'octet-stream'}"
    part["Content-Transfer-Encoding"] = "base64"
    if filename.isascii():
        part.add_header("Content-Disposition", "attachment", filename=filename)
    else:
        part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", filename))
    part.set_payload(base64.encodebytes(attachment.content).decode("ascii"))
    return part
