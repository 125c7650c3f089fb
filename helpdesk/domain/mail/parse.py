"""Decode a raw mail into plain data: addresses, threading headers, text, attachments.

Pure and forgiving: broken MIME, unknown charsets, raw 8-bit headers and HTML-only mail all give
a result; what could not be read is listed in ``defects``. The ``compat32`` policy is used on
purpose (it never raises while parsing headers, where ``policy.default`` can), with one change:
raw 8-bit header bytes are read as text instead of turning into ``Header`` objects that print
as U+FFFD. Encoded words (RFC 2047) and parameters (RFC 2231) are decoded here, forgivingly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from helpdesk.domain.mail import tnef
from helpdesk.domain.mail.attachment_names import clean_name, filename
from helpdesk.domain.mail.charsets import (
    POLICY,
    clean_header,
    decode_bytes,
    decode_header_value,
    unescape_header,
)
from helpdesk.domain.mail.html import html_to_text
from helpdesk.domain.mail.located import base64_text_at
from helpdesk.domain.mail.message import (
    MAX_ID,
    Address,
    Attachment,
    ParsedMail,
    plausible_address,
)

_MSGID = re.compile(r"<[^<>\s\x00]+>")
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
REPORT_TYPES = (
    "message/delivery-status",
    "message/global-delivery-status",
    "message/disposition-notification",
    "message/feedback-report",
)
KEPT_HEADERS = (  # what the stages read besides the addresses: classifying, and Outlook's thread
    "thread-index",
    "thread-topic",
    "auto-submitted",
    "precedence",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "list-id",
    "list-unsubscribe",
    "return-path",
    "x-loop",
    "x-failed-recipients",
)


# --- headers -------------------------------------------------------------------------------


def _addresses(message: Message, name: str) -> tuple[Address, ...]:
    values = [str(v) for v in message.get_all(name, [])]
    try:
        pairs = getaddresses(values)
    except Exception:  # the stdlib address parser has raised on odd input before
        pairs = []
    found = []
    for display, email in pairs:
        email = email.strip().lower()
        if plausible_address(email):
            found.append(Address(email, decode_header_value(display)[:200]))
    return tuple(found)


def _message_ids(value: object) -> tuple[str, ...]:
    found = _MSGID.findall(str(value or ""))
    return tuple(i for i in found if len(i) <= MAX_ID)


def _date(message: Message) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(str(message.get("date", "")))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _content_type(part: Message) -> str:
    """The part's type, or a safe stand-in: a multipart whose boundary was never found is text."""
    ctype = part.get_content_type()
    if not _CONTENT_TYPE.match(ctype):
        return "application/octet-stream"
    if ctype.startswith("multipart/") and not part.is_multipart():
        return "text/plain"
    return ctype


# --- body ----------------------------------------------------------------------------------


def _payload_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return decode_bytes(payload, part.get_content_charset())


def _is_attachment(part: Message) -> bool:
    disposition = str(part.get("content-disposition", "")).split(";")[0].strip().lower()
    return disposition == "attachment" or bool(filename(part))


@dataclass
class _Walk:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    report: list[str] = field(default_factory=list)
    report_type: str = ""
    defects: list[str] = field(default_factory=list)
    outlook: list[tnef.Unpacked] = field(default_factory=list)  # winmail.dat, unpacked
    raw: bytes = b""  # the mail walked: where large parts are located (``located``)


def _leaf(part: Message, walk: _Walk) -> None:
    ctype = _content_type(part)
    if ctype in REPORT_TYPES:
        walk.report.append(_report_text(part))
        walk.report_type = walk.report_type or ctype.split("/")[1]
        return
    if ctype in ("text/plain", "text/html") and not _is_attachment(part):
        (walk.html if ctype == "text/html" else walk.plain).append(_payload_text(part))
        return
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes) and tnef.is_tnef(ctype, filename(part)):
        _winmail(part, ctype, payload, walk)
    elif isinstance(payload, bytes):
        at = base64_text_at(walk.raw, part, len(payload))
        walk.attachments.append(replace(_attachment(part, ctype, payload), encoded_at=at))


def _winmail(part: Message, ctype: str, payload: bytes, walk: _Walk) -> None:
    """Outlook's files and body from its TNEF container; the container itself only when
    nothing could be read from it."""
    try:
        unpacked = tnef.unpack(payload)
    except ValueError as exc:
        walk.defects.append(f"winmail.dat not unpacked: {exc}")
        unpacked = tnef.Unpacked(())
    if not (unpacked.attachments or unpacked.text.strip() or unpacked.html.strip()):
        walk.attachments.append(_attachment(part, ctype, payload))
        return
    walk.outlook.append(unpacked)
    walk.attachments += [
        replace(item, filename=clean_name(item.filename) or "attachment.bin")
        for item in unpacked.attachments
    ]


def _attachment(part: Message, ctype: str, content: bytes) -> Attachment:
    return Attachment(filename(part) or _default_name(ctype), ctype, content)


def _report_text(part: Message) -> str:
    """A delivery or disposition report's fields, one block per recipient."""
    payload = part.get_payload()
    blocks = payload if isinstance(payload, list) else [part]
    chunks = []
    for block in blocks:
        if not isinstance(block, Message):
            continue
        lines = [f"{k}: {clean_header(str(v))}" for k, v in block.items()]
        body = block.get_payload()
        if block is not part and isinstance(body, str) and body.strip():
            lines.append(unescape_header(body).strip())
        chunks.append("\n".join(lines))
    if not any(chunks) and isinstance(payload, str):
        chunks = [unescape_header(payload).strip()]
    return "\n\n".join(chunks)


def _default_name(ctype: str) -> str:
    return {"message/rfc822": "forwarded.eml", "message/global": "forwarded.eml"}.get(
        ctype, "message.eml" if ctype.startswith("message/") else "attachment.bin"
    )


def _enclosed(part: Message, ctype: str, walk: _Walk) -> None:
    """A mail inside the mail (forwarded as an attachment): kept whole, as an attachment."""
    if ctype == "message/external-body":  # only a pointer to content elsewhere (FTP, a URL)
        walk.defects.append(f"external body not fetched: {filename(part) or 'unnamed'}")
        return
    inner = part.get_payload()
    data = b""
    if isinstance(inner, list) and inner and isinstance(inner[0], Message):
        try:
            data = inner[0].as_bytes()
        except Exception as exc:  # the generator can fail on what the parser let through
            walk.defects.append(f"enclosed mail not re-encoded: {type(exc).__name__}")
    else:
        decoded = part.get_payload(decode=True)
        data = decoded if isinstance(decoded, bytes) else b""
    walk.attachments.append(_attachment(part, ctype, data))


def _walk(part: Message, walk: _Walk, depth: int = 0) -> None:
    if depth > 20:
        walk.defects.append("MIME nesting deeper than 20 levels")
        return
    walk.defects += [type(d).__name__ for d in part.defects]
    ctype = _content_type(part)
    if ctype.startswith("message/") and ctype not in REPORT_TYPES:
        _enclosed(part, ctype, walk)
        return
    if part.is_multipart() and ctype not in REPORT_TYPES:
        children = [c for c in part.get_payload() if isinstance(c, Message)]
        if ctype == "multipart/alternative":
            children = _prefer_plain(children)
        for child in children:
            _walk(child, walk, depth + 1)
        return
    _leaf(part, walk)


def _prefer_plain(children: list[Message]) -> list[Message]:
    plain = [c for c in children if _content_type(c) == "text/plain"]
    return plain if plain and any(_payload_text(c).strip() for c in plain) else children


def _body(message: Message, raw: bytes) -> tuple[_Walk, str, bool]:
    """Walk the parts; the mail's text (plain preferred, else HTML made text) and its origin."""
    walk = _Walk(raw=raw)
    try:
        _walk(message, walk)
    except Exception as exc:  # a safety net: keep what was read so far and say what broke
        walk.defects.append(f"body not fully read: {type(exc).__name__}: {exc}"[:200])
    if not any(t.strip() for t in walk.plain + walk.html):  # Outlook's body, from winmail.dat
        walk.plain += [u.text for u in walk.outlook]
        walk.html += [u.html for u in walk.outlook if u.html.strip() and not u.text.strip()]
    from_html = not any(t.strip() for t in walk.plain) and bool(walk.html)
    text = "\n\n".join(t for t in walk.plain if t.strip())
    if from_html:
        text = "\n\n".join(_html_text(h, walk) for h in walk.html)
    else:
        # HTML beside a plain part outside multipart/alternative is content of its own: keep it.
        walk.attachments += [Attachment("message.html", "text/html", h.encode()) for h in walk.html]
    return walk, text.replace("\r\n", "\n").replace("\x00", ""), from_html


def _html_text(html: str, walk: _Walk) -> str:
    try:
        return html_to_text(html)
    except Exception as exc:  # lxml under inscriptis: keep the markup rather than nothing
        walk.defects.append(f"HTML not converted: {type(exc).__name__}")
        return html


def parse(raw: bytes) -> ParsedMail:
    message = message_from_bytes(raw, policy=POLICY)
    walk, text, from_html = _body(message, raw)
    senders = _addresses(message, "from") or _addresses(message, "sender")
    headers = {
        name: clean_header(str(message.get(name)))
        for name in KEPT_HEADERS
        if message.get(name) is not None
    }
    return ParsedMail(
        message_id=next(iter(_message_ids(message.get("message-id"))), ""),
        subject=decode_header_value(message.get("subject")),
        sender=senders[0] if senders else None,
        to=_addresses(message, "to"),
        cc=_addresses(message, "cc"),
        in_reply_to=_message_ids(message.get("in-reply-to")),
        references=_message_ids(message.get("references")),
        date=_date(message),
        content_type=_content_type(message),
        text=text,
        from_html=from_html,
        attachments=tuple(walk.attachments),
        headers=headers,
        report="\n\n".join(walk.report),
        report_type=walk.report_type,
        defects=tuple(dict.fromkeys(walk.defects)),
    )


def envelope_sender(envelope_from: str) -> Address | None:
    address = envelope_from.strip().lower()
    return Address(address) if plausible_address(address) else None
