"""The new part of a mail's text: quoted history and signature stripped (card numbers and IBANs
are masked before, as the mail is decoded: ``helpdesk.domain.sensitive``).

Quotes and signatures are found by email_reply_parser's line scanner, with its two regex hazards
replaced: its "On ... wrote:" joining regex is cubic in the number of "On " words (6 KB of them
took 40 s) and used the matched text as a replacement template (a backslash in a name raised),
and its "Sent from my ..." rule also took "Sent from my desk, ..." for a signature. A forwarded
mail is content, not history: what follows a forward marker is kept whole.

Attribution lines are read in many languages (``attribution``: English, German, French, Spanish,
Portuguese, Dutch, Italian, Polish, Russian, Japanese, Chinese), and an Outlook header is a
block of two or more of its fields in any of them, so a lone "Subject: ..." or "Date: ..." in
the sender's own words is not taken for one. All are plain string tests or anchored regexes
without nested quantifiers: nothing to backtrack on a long line.

A mail whose new words come to nothing (all of it quoted, or taken for a signature) is not
stored empty: ``kept_whole`` keeps its text, unquoted, below a note saying so.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from email_reply_parser import EmailMessage

from helpdesk.domain.mail import attribution
from helpdesk.domain.mail.message import ParsedMail

_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|fw|fwd|wg|tr)(\[\d+\])?\s*:\s*)+", re.I)
_FORWARD_SUBJECT = re.compile(r"^\s*\[?(fw|fwd|wg|tr|rv|enc)\s*:", re.I)
_FORWARD_MARKER = re.compile(
    r"^\s*(?:-{2,}\s*(?:forwarded message|weitergeleitete nachricht|message transf[ée]r[ée])"
    r"\s*-{2,}|begin forwarded message:|anfang der weitergeleiteten nachricht:)\s*$",
    re.I,
)
_OUTLOOK_MARKER = re.compile(r"^\s*(?:-{2,}\s*original message\s*-{2,}|_{10,})\s*$", re.I)
_OUTLOOK_RULE = re.compile(r"([^\n])(?=\n ?[_-]{7,})")
_HEADER_LINES = 4
_HEADER_FIELD = re.compile(
    rf"^\*?(?:{attribution.OUTLOOK_FIELDS})\*?(?:\s?:\*?\s|\s?\uff1a\*?\s?)\S", re.IGNORECASE
)
_QUOTED = re.compile(r"^ *>")
_COLONS = (":", "\uff1a")  # the full-width one in Chinese and Japanese
is_attribution = attribution.is_attribution


def _below(lines: list[str], index: int) -> str:
    """The first line with words after ``index`` (a few lines at most: blank ones between)."""
    for line in lines[index + 1 : index + 4]:
        if line.strip():
            return line
    return ""


class _Attributions:
    """The library's QUOTE_HDR_REGEX, per mail: an attribution line (``attribution``), or a
    date and address line right above a quote. The library tests ``is not None``."""

    def __init__(self, lines: list[str]) -> None:
        below = [_below(lines, index) for index in range(len(lines))]
        self.lines = {
            line
            for line, next_words in zip(lines, below, strict=True)
            if attribution.dated_address(line, next_words)
        }

    def match(self, line: str) -> bool | None:
        return True if line in self.lines or is_attribution(line) else None


class _HeaderLines:
    """The library's HEADER_REGEX, per mail: the lines of a block of two or more header fields."""

    def __init__(self, lines: list[str]) -> None:
        self.lines: set[str] = set()
        run: list[str] = []
        for line in [*lines, ""]:
            if _HEADER_FIELD.match(line):
                run.append(line)
                continue
            if len(run) >= 2:
                self.lines.update(run)
            run = []

    def match(self, line: str) -> bool | None:
        return True if line in self.lines else None


class _Reply(EmailMessage):  # type: ignore[misc]
    """email_reply_parser's scanner with a linear ``read`` and an anchored signature rule, whose
    "Sent from my iPhone" is also read as the phones write it in the other languages."""

    SIG_REGEX = re.compile(
        rf"(--|__|-\w)|(^(?:{attribution.PHONE_SENT})(\s+[\w'-]+){{1,4}}$)"
        rf"|(^(?:{attribution.PHONE_SENT_ALONE})$)"
    )
    text: str
    lines: list[str]
    fragments: list[Any]
    found_visible: bool

    def read(self) -> _Reply:
        self.found_visible = False
        self.text = _OUTLOOK_RULE.sub("\\1\n", join_quote_headers(self.text))
        lines = self.text.split("\n")
        self.HEADER_REGEX = _HeaderLines(lines)
        self.QUOTE_HDR_REGEX = _Attributions(lines)
        self.lines = lines[::-1]
        for line in self.lines:
            self._scan_line(line)
        self._finish_fragment()
        self.fragments.reverse()
        return self


def join_quote_headers(text: str) -> str:
    """An "On <date>, <name>\n<address> wrote:" line (in any language of ``attribution``)
    folded over lines becomes one line."""
    lines, out, index = text.split("\n"), [], 0
    while index < len(lines):
        end = _header_end(lines, index)
        if end > index:
            out.append(" ".join(part.strip() for part in lines[index : end + 1]))
        else:
            out.append(lines[index])
        index = end + 1
    return "\n".join(out)


def _header_end(lines: list[str], start: int) -> int:
    """The last line of a quote header folded from ``start``; ``start`` when there is none.
    A header with no verb (``attribution.dated_address``) opens with its date."""
    first = lines[start].rstrip()
    if not first or first.endswith(_COLONS) or _QUOTED.match(first):
        return start
    dated = any(char.isdigit() for char in first)
    for index in range(start + 1, min(start + _HEADER_LINES, len(lines))):
        line, below = lines[index], _below(lines, index)
        if not line.strip() or _QUOTED.match(line) or _is_header(line, below):
            break  # a blank line or a quote ends it; a header of its own starts below
        joined = " ".join(part.strip() for part in lines[start : index + 1])
        if is_attribution(joined) or (dated and attribution.dated_address(joined, below)):
            return index
    return start


def _is_header(line: str, below: str) -> bool:
    return is_attribution(line) or attribution.dated_address(line, below)


def split_forward(text: str, forwarded: bool = False) -> tuple[str, str]:
    """The sender's own words, and a forwarded mail below them (kept whole: it is the content).

    A forward marker counts only above any quoted history. Outlook's "Original Message" rule
    is history in a reply, and a forward marker when the subject says the mail is forwarded.
    """
    lines = text.split("\n")
    for index, line in enumerate(lines):
        outlook = _OUTLOOK_MARKER.match(line) is not None
        if _FORWARD_MARKER.match(line) or (forwarded and outlook):
            return "\n".join(lines[:index]), "\n".join(lines[index:])
        if outlook or line.lstrip().startswith(">") or is_attribution(line):
            break
    return text, ""


def is_forward(subject: str) -> bool:
    return _FORWARD_SUBJECT.match(subject) is not None


def new_text(text: str, forwarded: bool = False) -> str:
    """The mail's own words (quote and signature gone) and any forwarded mail."""
    own, forward = split_forward(text.replace("\r\n", "\n"), forwarded)
    reply = str(_Reply(own).read().reply).strip()
    return "\n\n".join(part for part in (reply, forward.strip()) if part)


def normalized_subject(subject: str) -> str:
    return _REPLY_PREFIX.sub("", subject).strip()


def content_hash(subject: str, body: str) -> str:
    """What "the same content" means for duplicate detection: subject and new text."""
    text = f"{normalized_subject(subject).lower()}\n{' '.join(body.split())}"
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Cleaned:
    """A mail's new words, and what "the same content" hashes."""

    body: str
    content_hash: str


def tidy(mail: ParsedMail, text: str | None = None) -> Cleaned:
    """Pure: ``text`` is what the commands stage left of an agent's mail, None for the mail's
    own text (then the processor can run it ahead, in a decoding process)."""
    body = new_text(mail.text if text is None else text, is_forward(mail.subject))
    return Cleaned(body, content_hash(mail.subject, body))


WHOLE_NOTE = "[No new text was found above the quoted mail; the whole mail follows.]"
_QUOTE_MARKS = re.compile(r"^(?:[ \t]*>)+[ \t]?", re.MULTILINE)


def kept_whole(mail: ParsedMail, text: str) -> Cleaned:
    """A mail whose new words came to nothing: its whole ``text``, the quote marks taken off,
    below ``WHOLE_NOTE``, rather than an empty message."""
    body = f"{WHOLE_NOTE}\n\n{_QUOTE_MARKS.sub('', text.replace(chr(13), '')).strip()}"
    return Cleaned(body, content_hash(mail.subject, body))
