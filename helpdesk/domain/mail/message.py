"""A mail as the domain knows it once parsed: addresses, attachments, the decoded parts."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import datetime

MAX_ID = 998  # the longest Message-ID (and line) RFC 5322 allows, and our column


MAX_ADDRESS = 320
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def plausible_address(email: str) -> bool:
    """An address we would write to: local part and domain, no space or control character (a
    CR would let it inject headers), within RFC 5321's length."""
    local, _, domain = email.rpartition("@")
    return (
        bool(local and domain)
        and len(email) <= MAX_ADDRESS
        and " " not in email
        and CONTROL.search(email) is None
    )


@dataclass(frozen=True)
class Address:
    email: str
    name: str = ""


@dataclass(frozen=True)
class Attachment:
    """A file of a mail. ``sha256`` (the key it is stored under) and ``size`` are worked out
    from ``content`` when not given. ``encoded_at``: where a large part's base64 text lies in
    the raw mail, so that its content can be decoded again from there (``without_content``)."""

    filename: str
    content_type: str
    content: bytes
    sha256: str = field(default="", repr=False, compare=False)
    size: int = field(default=-1, compare=False)
    encoded_at: tuple[int, int] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.sha256:
            object.__setattr__(self, "sha256", hashlib.sha256(self.content).hexdigest())
        if self.size < 0:
            object.__setattr__(self, "size", len(self.content))

    @property
    def deferred(self) -> bool:
        """Its content is not held here: it is decoded from the raw mail when stored."""
        return self.encoded_at is not None and not self.content and self.size > 0

    def without_content(self) -> Attachment:
        """This attachment known by its key, size and place in the raw mail alone."""
        assert self.encoded_at is not None, "only a located part can be decoded again"
        return replace(self, content=b"")


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
    report_type: str = ""
    defects: tuple[str, ...] = ()

    @property
    def recipients(self) -> tuple[Address, ...]:
        return self.to + self.cc
