"""Outlook's ``winmail.dat`` (TNEF, ``application/ms-tnef``) unpacked into its files and body.

tnefparse reads the container, once ``tnef_check`` has found it safe to; a compressed RTF body
is inflated by compressed_rtf (tnefparse asks for it when it is installed) and made text by
striprtf. What cannot be read is reported, and the caller keeps the ``winmail.dat`` itself, so
nothing the customer sent is lost.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass

from striprtf import striprtf
from tnefparse import TNEF

from helpdesk.domain.mail.message import Attachment
from helpdesk.domain.mail.tnef_check import check

TYPES = frozenset(("application/ms-tnef", "application/vnd.ms-tnef"))
NAME = "winmail.dat"
_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_MIME_TAG = 0x370E  # PR_ATTACH_MIME_TAG: the attachment's content type, when Outlook set it


@dataclass(frozen=True)
class Unpacked:
    """What a TNEF container held; ``text`` is its plain body, or its RTF body made text."""

    attachments: tuple[Attachment, ...]
    text: str = ""
    html: str = ""


def is_tnef(content_type: str, filename: str) -> bool:
    return content_type in TYPES or filename.lower() == NAME


def unpack(data: bytes) -> Unpacked:
    """Raises ValueError (with the reason) when ``data`` is no TNEF that can be read, or one
    that would keep tnefparse busy (``tnef_check``)."""
    check(data)
    try:
        container = TNEF(data, do_checksum=False)
    except Exception as exc:  # tnefparse raises what struct and codecs raise on broken input
        raise ValueError(f"{type(exc).__name__}: {exc}"[:200]) from exc
    files = tuple(a for a in (_attachment(item) for item in container.attachments) if a)
    codepage = container.codepage or "cp1252"
    html = _text(container.htmlbody, "utf-8")
    text = _text(container.body, codepage)
    if not text.strip() and not html.strip():
        text = _rtf_text(container)
    return Unpacked(files, text, html)


def _text(body: object, charset: str) -> str:
    """A body tnefparse left as bytes (no code page named for it) is read as ``charset``, else
    as Windows-1252, Outlook's default."""
    if isinstance(body, bytes):
        try:
            return body.decode(charset).rstrip("\x00")
        except (UnicodeDecodeError, LookupError):
            return body.decode("cp1252", "replace").rstrip("\x00")
    return body.rstrip("\x00") if isinstance(body, str) else ""


def _rtf_text(container: TNEF) -> str:
    to_text: Callable[..., str] = striprtf.rtf_to_text  # untyped upstream
    try:
        rtf = container.rtfbody  # inflated by compressed_rtf
        return to_text(rtf.decode("cp1252", "replace"), errors="replace").strip() if rtf else ""
    except Exception:  # a broken RTF stream: the container's files still count
        return ""


def _attachment(item: object) -> Attachment | None:
    content = getattr(item, "data", b"")
    if not isinstance(content, bytes) or not content:
        return None
    name = _name(item)
    return Attachment(name, _content_type(item, name), content)


def _name(item: object) -> str:
    """Its long name, else its short one; a name tnefparse cannot decode as UTF-8 is read as
    Windows-1252."""
    try:
        name = item.long_filename()  # type: ignore[attr-defined]
    except (UnicodeDecodeError, AttributeError):
        name = getattr(item, "_name", b"")
    if isinstance(name, bytes):
        name = name.decode("cp1252", "replace")
    return str(name).strip("\x00").strip()


def _content_type(item: object, name: str) -> str:
    """Outlook's MIME tag for it, else a guess from its name."""
    for attribute in getattr(item, "mapi_attrs", ()):
        tag = attribute.data if attribute.name == _MIME_TAG else None
        if isinstance(tag, str) and _TYPE.match(tag.strip().lower()):
            return tag.strip().lower()
    return mimetypes.guess_type(name)[0] or "application/octet-stream"
