"""Which addresses a bounce reports as failed, and why.

RFC 3464 reports are read here (their ``Action: failed`` blocks); every other MTA's own format
(Postfix, Exim, qmail, Sendmail, Exchange, Yahoo, AOL, and the common wordings) is left to
flufl.bounce, the detectors GNU Mailman has kept for twenty years. Deciding only: the pipeline
decides which of the addresses count (``helpdesk.app.pipeline.automated``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email import message_from_bytes, policy

from flufl.bounce import all_failures

from helpdesk.domain.mail.message import plausible_address

# flufl.bounce says at INFO which of its 17 detectors it tries, for every mail it reads
logging.getLogger("flufl.bounce").setLevel(logging.WARNING)

_FINAL_RECIPIENT = re.compile(
    r"^(?:final|original)-recipient:\s*rfc822;\s*<?([^\s<>]+@[^\s<>]+)>?", re.I | re.M
)
_ACTION = re.compile(r"^action:\s*(\w+)", re.I | re.M)
_DIAGNOSTIC = re.compile(r"^(?:diagnostic-code|status):\s*(.+)$", re.I | re.M)
# an SMTP reply or enhanced status code on a line of a bounce's text: "550 5.1.1 <x>: unknown"
_SMTP_REPLY = re.compile(r"^.*\b(?:[45]\d\d[ -]|[45]\.\d{1,3}\.\d{1,3}\b).*$", re.M)
MAX_DIAGNOSTIC = 500


@dataclass(frozen=True)
class Failures:
    """The addresses a bounce names: ``failed`` for good, ``delayed`` still being tried."""

    failed: tuple[str, ...] = ()
    delayed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.failed or self.delayed)


def failed_recipients(report: str, headers: dict[str, str]) -> list[str]:
    """Addresses a DSN reports as failed; a "delayed" or "delivered" notice names none."""
    found = []
    for block in re.split(r"\n\s*\n", report):
        action = _ACTION.search(block)
        if action is None or action.group(1).lower() == "failed":
            found += [a.lower() for a in _FINAL_RECIPIENT.findall(block)]
    found += [a.strip().lower() for a in headers.get("x-failed-recipients", "").split(",")]
    return list(dict.fromkeys(a for a in found if "@" in a))


def detect(raw: bytes) -> Failures:
    """What flufl.bounce's detectors find in the mail, most specific detector first.

    The heuristic detectors index into headers they expect (the Yale one fails on a mail with
    no From, so such a mail is not scanned): a detector that raises finds nothing, and the mail
    is classified by the other rules rather than lost.
    """
    message = message_from_bytes(raw, policy=policy.default)  # str headers: the detectors lower()
    if not message.get("from"):
        return Failures()
    try:
        temporary, permanent = all_failures(message)
    except Exception:  # third-party heuristics on any input: see the docstring
        return Failures()
    failed = _addresses(permanent)
    return Failures(failed, tuple(a for a in _addresses(temporary) if a not in failed))


def failures(raw: bytes, report: str, headers: dict[str, str]) -> Failures:
    """The DSN's own failed recipients with whatever the detectors find besides."""
    found = detect(raw)
    failed = tuple(dict.fromkeys([*failed_recipients(report, headers), *found.failed]))
    return Failures(failed, tuple(a for a in found.delayed if a not in failed))


def diagnostic(report: str, text: str) -> str:
    """Why delivery failed, in the MTA's words: the DSN's diagnostic codes, else the lines of
    the bounce's text that carry an SMTP reply code."""
    found = _DIAGNOSTIC.findall(report) or _SMTP_REPLY.findall(text)[:3]
    return "; ".join(" ".join(line.split()) for line in found)[:MAX_DIAGNOSTIC] or "delivery failed"


def _addresses(found: Iterable[bytes]) -> tuple[str, ...]:
    decoded = (a.decode("utf-8", "replace").strip().strip("<>").lower() for a in found)
    return tuple(sorted({a for a in decoded if plausible_address(a)}))
