"""An attachment's file name as a mail gives it (RFC 2231, RFC 2047 or raw 8-bit), made safe to
store and to send again: no directory, no control character, at most 255 characters."""

from __future__ import annotations

from email.message import Message
from email.utils import unquote

from helpdesk.domain.mail.charsets import decode_bytes, decode_header_value
from helpdesk.domain.mail.message import CONTROL


def filename(part: Message) -> str:
    """The attachment's name (RFC 2231 or RFC 2047 or raw 8-bit), without any directory."""
    value = part.get_param("filename", None, "content-disposition")
    if value is None:
        value = part.get_param("name", None)
    if isinstance(value, tuple):  # RFC 2231: (charset, language, text of the raw bytes)
        name = _rfc2231_text(value[0], unquote(value[2]))
    else:
        name = decode_header_value(value or "")
    return clean_name(name)


def clean_name(name: str) -> str:
    """A file name without any directory or control character, of at most 255 characters."""
    name = _shorten(CONTROL.sub("", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(), 255)
    return name if name not in ("", ".", "..") else ""


def _rfc2231_text(charset: str | None, text: str) -> str:
    if any(ord(c) > 0xFF for c in text):  # raw 8-bit bytes, already read as text
        return text
    return decode_bytes(text.encode("latin-1"), charset)


def _shorten(name: str, limit: int) -> str:
    """At most ``limit`` characters, keeping a short extension."""
    if len(name) <= limit:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > 16:
        return name[:limit]
    return stem[: limit - len(extension) - 1] + "." + extension
