"""Outlook's conversation threading: the ``Thread-Index`` and ``Thread-Topic`` headers.

Outlook groups a conversation by the 22-byte header of ``Thread-Index`` (PidTagConversationIndex,
[MS-OXOMSG] 2.2.1.3; "Tracking Conversations" in the MAPI reference), not by ``References``: a
reserved byte, 0x01; 40 bits of a FILETIME (its top 32 bits and the next 8, big-endian); a GUID.
Each reply appends a 5-byte block: one bit (0 when the time since the header is under about 1.7
years, 2**49 FILETIME units), 31 bits of that time difference (dropping its low 18 bits, or 23
when the bit is 1), and a byte of which Outlook takes 4 bits from its tick count and 4 as a
sequence. Older Outlook wrote the header time as the top 48 bits of the FILETIME, its first
byte doing as the reserved 0x01; such a header is read that way (its second byte is no 0x01).

Written by hand: no maintained Python package computes it, and it is a few lines of arithmetic.
The last byte here comes from a hash of our Message-ID, so a retried delivery is the same mail.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from datetime import UTC, datetime
from email.parser import BytesHeaderParser

from helpdesk.domain.mail.charsets import POLICY, decode_header_value
from helpdesk.domain.mail.message import CONTROL

HEAD_BYTES = 32_768  # of a stored mail, read for its headers: Outlook's follow its Received lines
HEADER = 22
BLOCK = 5
MAX_BLOCKS = 140  # base64 of 22 + 5 * 140 bytes fits a 998-character header line
MAX_TOPIC = 255
_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)  # FILETIME counts 100 ns from here
_SHORT = 1 << 49  # a difference from here on is written with the coarse scale


def filetime(moment: datetime) -> int:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def decode(value: str) -> bytes | None:
    """The bytes of a ``Thread-Index`` header we can extend; None for anything else."""
    try:
        data = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    blocks, rest = divmod(len(data) - HEADER, BLOCK)
    if len(data) < HEADER or rest or blocks >= MAX_BLOCKS or data[0] != 0x01:
        return None
    return data


def header_time(index: bytes) -> int:
    """The FILETIME the header block holds (to the precision it keeps)."""
    if index[1] == 0x01:  # [MS-OXOMSG]: 0x01, then bits 63..24 of the FILETIME
        return int.from_bytes(index[1:6], "big") << 24
    return int.from_bytes(index[0:6], "big") << 16  # older Outlook: bits 63..16


def fresh(moment: datetime, guid: uuid.UUID) -> bytes:
    """A new conversation's header block ([MS-OXOMSG] layout)."""
    stamp = (filetime(moment) >> 24) & 0xFF_FFFF_FFFF
    return b"\x01" + stamp.to_bytes(5, "big") + guid.bytes


def child(index: bytes, moment: datetime, salt: str) -> bytes:
    """``index`` extended by one reply block for a mail written at ``moment``."""
    difference = max(filetime(moment) - header_time(index), 0)
    if difference < _SHORT:
        word = (difference >> 18) & 0x7FFF_FFFF
    else:
        word = (1 << 31) | ((difference >> 23) & 0x7FFF_FFFF)
    last = hashlib.sha256(salt.encode()).digest()[0]
    return index + word.to_bytes(4, "big") + bytes([last])


def conversation_guid(ticket_number: str, domain: str) -> uuid.UUID:
    """The GUID of a conversation we start: the same for every mail of the ticket."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"helpdesk:{domain}:{ticket_number}")


def reply_index(
    customers: str, ticket_number: str, domain: str, opened: datetime, now: datetime, salt: str
) -> str:
    """Our mail's ``Thread-Index``: the customer's last one (``customers``, as they sent it)
    extended by a block, or, when they sent none we can read, the ticket's own conversation
    (started when it was opened) extended likewise."""
    parent = decode(customers) if customers else None
    if parent is None:
        parent = fresh(opened, conversation_guid(ticket_number, domain))
    return base64.b64encode(child(parent, now, salt)).decode("ascii")


def topic(customers: str, subject: str) -> str:
    """``Thread-Topic``: the customer's, as Outlook keeps it for the whole conversation, else
    ``subject`` (the ticket's, without reply prefixes), on one line."""
    chosen = customers if customers.strip() else subject
    return " ".join(CONTROL.sub(" ", chosen).split())[:MAX_TOPIC]


def from_headers(head: bytes) -> tuple[str, str]:
    """The ``Thread-Index`` and the decoded ``Thread-Topic`` of a mail from its first bytes."""
    try:
        headers = BytesHeaderParser(policy=POLICY).parsebytes(head)
    except Exception:  # compat32 does not raise on headers; a safety net all the same
        return "", ""
    return str(headers.get("thread-index", "")), decode_header_value(headers.get("thread-topic"))
