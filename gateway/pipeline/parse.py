"""Decode a raw mail into plain data: addresses, threading headers, text, attachments.

Pure and forgiving: broken MIME, unknown charsets, raw 8-bit headers and HTML-only mail all give
a result; what could not be read is listed in ``defects``. The ``compat32`` policy is used on
purpose: it never raises while parsing headers, where ``policy.default`` can.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.header import decode_header
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from typing import TYPE_CHECKING

from inscriptis import get_text

if TYPE_CHECKING:
    from gateway.pipeline.context import Env, MailContext

CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "x-sjis": "shift_jis",
    "windows-874": "cp874",
    "iso-8859-8-i": "iso-8859-8",
    "unicode-1-1-utf-7": "utf-7",
}
_MSGID = re.compile(r"<[^<>\s]+>")
_ENCODED_WORD_GAP = re.compile(r"(\?=)\s+(=\?)")
CLASSIFY_HEADERS = (
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


@dataclass(frozen=True)
class Address:
    email: str
    name: str = ""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class ParsedMail:
    message_id: str
    subject: str
    sender: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    date: datetime | None
    content_type: str
    text: str
    from_html: bool
    attachments: tuple[Attachment, ...]
    headers: dict[str, str] = field(default_factory=dict)
    report: str = ""
    defects: tuple[str, ...] = ()

    @property
    def recipients(self) -> tuple[Address, ...]:
        return self.to + self.cc


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Bytes in a declared charset to text; an unknown or lying charset falls back, never raises."""
    name = (charset or "").strip().strip('"').lower()
    name = CHARSET_ALIASES.get(name, name)
    candidates = [name] if name else []
    candidates += ["utf-8", "cp1252"]
    for candidate in candidates:
        try:
            codecs.lookup(candidate)
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError, ValueError):
            continue
    return data.decode("utf-8", errors="replace")


def _unescape(value: str) -> str:
    """compat32 keeps raw 8-bit header bytes as surrogate escapes; read them as UTF-8."""
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        return decode_bytes(value.encode("ascii", "surrogateescape"), "utf-8")
    return value


def decode_header_value(value: object) -> str:
    if value is None:
        return ""
    text = _unescape(str(value))
    try:
        chunks = decode_header(_ENCODED_WORD_GAP.sub(r"\1\2", text))
    except Exception:  # a malformed encoded word: keep the text as it came
        return _clean_header(text)
    out = []
    for chunk, charset in chunks:
        out.append(decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk)
    return _clean_header("".join(out))


def _clean_header(text: str) -> str:
    return " ".join(text.replace("\x00", "").split())


def _addresses(message: Message, name: str) -> tuple[Address, ...]:
    values = [_unescape(str(v)) for v in message.get_all(name, [])]
    found = []
    try:
        pairs = getaddresses(values)
    except Exception:
        pairs = []
    for display, email in pairs:
        email = email.strip().lower()
        if "@" in email and " " not in email:
            found.append(Address(email, decode_header_value(display)))
    return tuple(found)


def _message_ids(value: object) -> tuple[str, ...]:
    return tuple(_MSGID.findall(_unescape(str(value or ""))))


def _date(message: Message) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(str(message.get("date", "")))
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _payload_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return decode_bytes(payload, part.get_content_charset())


def html_to_text(html: str) -> str:
    return get_text(html).strip()


def _is_attachment(part: Message) -> bool:
    disposition = str(part.get("content-disposition", "")).split(";")[0].strip().lower()
    return disposition == "attachment" or part.get_filename() is not None


@dataclass
class _Walk:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    report: list[str] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)


def _leaf(part: Message, walk: _Walk) -> None:
    ctype = part.get_content_type()
    if ctype in ("message/delivery-status", "message/feedback-report"):
        walk.report.append(_report_text(part))
        return
    if ctype.startswith("text/") and not _is_attachment(part):
        target = walk.html if ctype == "text/html" else walk.plain
        if ctype in ("text/plain", "text/html"):
            target.append(_payload_text(part))
            return
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        filename = decode_header_value(part.get_filename() or "") or _default_name(ctype)
        walk.attachments.append(Attachment(filename, ctype, payload))


def _report_text(part: Message) -> str:
    chunks = []
    for sub in part.get_payload() if part.is_multipart() else [part]:
        if isinstance(sub, Message):
            chunks.append("\n".join(f"{k}: {_unescape(str(v))}" for k, v in sub.items()))
    if not chunks:
        chunks.append(str(part.get_payload()))
    return "\n\n".join(chunks)


def _default_name(ctype: str) -> str:
    return {"message/rfc822": "forwarded.eml"}.get(ctype, "attachment.bin")


def _walk(part: Message, walk: _Walk, depth: int = 0) -> None:
    if depth > 20:
        walk.defects.append("MIME nesting deeper than 20 levels")
        return
    ctype = part.get_content_type()
    if ctype == "message/rfc822":
        inner = part.get_payload()
        data = inner[0].as_bytes() if isinstance(inner, list) and inner else b""
        walk.attachments.append(Attachment(_default_name(ctype), ctype, data))
        return
    if part.is_multipart():
        children = part.get_payload()
        if ctype == "multipart/alternative":
            children = _prefer_plain(children)
        for child in children:
            _walk(child, walk, depth + 1)
        return
    _leaf(part, walk)


def _prefer_plain(children: list[Message]) -> list[Message]:
    plain = [c for c in children if c.get_content_type() == "text/plain"]
    return plain if plain and any(_payload_text(c).strip() for c in plain) else children


def parse(raw: bytes) -> ParsedMail:
    message = message_from_bytes(raw, policy=compat32)
    walk = _Walk(defects=[type(d).__name__ for d in message.defects])
    _walk(message, walk)
    from_html = not any(t.strip() for t in walk.plain) and bool(walk.html)
    text = "\n\n".join(t for t in walk.plain if t.strip())
    if from_html:
        text = "\n\n".join(html_to_text(h) for h in walk.html)
    else:
        # HTML beside a plain part outside multipart/alternative is content of its own: keep it.
        walk.attachments += [Attachment("message.html", "text/html", h.encode()) for h in walk.html]
    senders = _addresses(message, "from") or _addresses(message, "sender")
    headers = {
        name: _unescape(str(message.get(name))).strip()
        for name in CLASSIFY_HEADERS
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
        content_type=message.get_content_type(),
        text=text.replace("\r\n", "\n").replace("\x00", ""),
        from_html=from_html,
        attachments=tuple(walk.attachments),
        headers=headers,
        report="\n\n".join(walk.report),
        defects=tuple(walk.defects),
    )


def stage(ctx: MailContext, env: Env) -> None:
    """Decode the stored bytes."""
    ctx.parsed = parse(ctx.envelope.raw)
    mail = ctx.parsed
    ctx.sender = mail.sender or _envelope_sender(ctx.envelope.envelope_from)
    html = ", from HTML" if mail.from_html else ""
    defects = f", defects: {', '.join(mail.defects)}" if mail.defects else ""
    ctx.decide(
        "parse",
        f"{mail.content_type}, {len(mail.text)} chars of text{html}, "
        f"{len(mail.attachments)} attachment(s){defects}",
    )


def _envelope_sender(envelope_from: str) -> Address | None:
    address = envelope_from.strip().lower()
    return Address(address) if "@" in address else None
