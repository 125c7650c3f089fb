"""Where a large base64 part's text lies in the raw mail it came from.

A decoded attachment of 10 MB held by the process that stores it, beside the same held by the
process that decoded it and the copy passed between them, is what took the worker past its
memory target with large mail. Known by its place in the raw mail, the part is decoded again
from there, a chunk at a time, as it is stored (``storage.blobs_stream``).
"""

from __future__ import annotations

from email.message import Message

LOCATED_BYTES = 1024 * 1024  # a part at least this large (decoded) is located


def base64_text_at(raw: bytes, part: Message, size: int) -> tuple[int, int] | None:
    """Where ``part``'s base64 text starts and ends in ``raw``, for a part of ``size`` decoded
    bytes at least ``LOCATED_BYTES``; None otherwise, or when it is not found as it is. The
    parser keeps a body's lines as they came, so the text is found verbatim; whoever decodes it
    again checks the digest."""
    if size < LOCATED_BYTES:
        return None
    if str(part.get("content-transfer-encoding", "")).strip().lower() != "base64":
        return None
    encoded = part.get_payload(decode=False)
    if not isinstance(encoded, str):
        return None
    text = encoded.encode("ascii", "surrogateescape")
    start = raw.find(text)
    return (start, start + len(text)) if start >= 0 and text.strip() else None
