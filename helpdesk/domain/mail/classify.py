"""Tell normal mail from bounces, auto-replies and bulk mail (RFC 3834, RFC 3464, RFC 2369).

Deciding only: the pipeline decides what each kind means. Rules follow Mailman's
``can_acknowledge`` and RFC 3834 section 2. A bounce in an MTA's own format (not a DSN) is
recognised by flufl.bounce's detectors, asked only about mail the mail system sent (a null
return path): ordinary mail that quotes a bounce is a customer's question, not a bounce.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from helpdesk.domain.mail.bounces import Failures, failed_recipients, failures
from helpdesk.domain.mail.message import ParsedMail

_DAEMONS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.I)
_OUT_OF_OFFICE = re.compile(
    r"^(auto(matic)?[ -]?(reply|response)|out of (the )?office|abwesenheit|réponse automatique)",
    re.I,
)


_REJECTED = re.compile(r"^disposition:\s*automatic-action/[\w-]+;\s*deleted", re.I | re.M)


class MailKind(enum.StrEnum):
    NORMAL = "normal"
    BULK = "bulk"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"


@dataclass(frozen=True)
class Classification:
    kind: MailKind
    reason: str
    failures: Failures = field(default_factory=Failures)  # a bounce's: the addresses named

    @property
    def automated(self) -> bool:
        """Mail that must never be answered automatically."""
        return self.kind is not MailKind.NORMAL


_BOUNCE_REPORTS = ("delivery-status", "global-delivery-status")


def classify(mail: ParsedMail, envelope_from: str, raw: bytes = b"") -> Classification:
    """``raw``, the mail as received, lets the bounce detectors read what parsing leaves out."""
    found = (
        _report(mail, envelope_from, raw) or _automatic(mail.headers) or _bulk(mail, envelope_from)
    )
    if found is not None:
        return found
    if _OUT_OF_OFFICE.match(mail.subject):
        return Classification(MailKind.AUTO_REPLY, "out-of-office subject")
    return Classification(MailKind.NORMAL, "no automation markers")


def _report(mail: ParsedMail, envelope_from: str, raw: bytes) -> Classification | None:
    """RFC 3464 delivery reports are bounces; a read receipt (RFC 8098) is only an auto-reply."""
    sender = mail.sender.email if mail.sender else ""
    if mail.report_type == "disposition-notification":
        if _REJECTED.search(mail.report):  # RFC 5429: Sieve's reject answers with an MDN
            return _bounce("rejected by the recipient's server (disposition: deleted)", mail, raw)
        return Classification(MailKind.AUTO_REPLY, "read receipt (disposition notification)")
    if mail.report_type == "feedback-report":
        return Classification(MailKind.BULK, "abuse feedback report")
    if mail.report_type in _BOUNCE_REPORTS or mail.content_type == "multipart/report":
        return _bounce("delivery status notification", mail, raw)
    if "x-failed-recipients" in mail.headers:
        return _bounce("X-Failed-Recipients header", mail, raw)
    if _DAEMONS.match(sender) or _DAEMONS.match(envelope_from):
        return _bounce(f"sent by {sender or envelope_from}", mail, raw)
    if raw and _null_return_path(mail.headers, envelope_from):
        found = failures(raw, mail.report, mail.headers)
        if found.failed:
            return Classification(MailKind.BOUNCE, "delivery failure report", found)
        if found.delayed:
            return Classification(MailKind.BOUNCE, "delivery delay warning", found)
    return None


def _bounce(reason: str, mail: ParsedMail, raw: bytes) -> Classification:
    found = (
        failures(raw, mail.report, mail.headers)
        if raw
        else Failures(tuple(failed_recipients(mail.report, mail.headers)))
    )
    return Classification(MailKind.BOUNCE, reason, found)


def _null_return_path(headers: dict[str, str], envelope_from: str) -> bool:
    """Sent with ``MAIL FROM:<>``, as RFC 5321 has the mail system send its reports."""
    return envelope_from == "" or headers.get("return-path", "").strip() == "<>"


def _automatic(headers: dict[str, str]) -> Classification | None:
    """RFC 3834 markers, and the older headers autoresponders set."""
    auto = headers.get("auto-submitted", "").split(";")[0].strip().lower()
    if auto not in ("", "no"):
        return Classification(MailKind.AUTO_REPLY, f"Auto-Submitted: {auto}")
    for name in ("x-autoreply", "x-autorespond"):
        if name in headers:
            return Classification(MailKind.AUTO_REPLY, f"{name} header")
    if headers.get("precedence", "").strip().lower() == "auto_reply":
        return Classification(MailKind.AUTO_REPLY, "Precedence: auto_reply")
    return None


def _bulk(mail: ParsedMail, envelope_from: str) -> Classification | None:
    headers = mail.headers
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in ("bulk", "junk", "list"):
        return Classification(MailKind.BULK, f"Precedence: {precedence}")
    for name in ("list-id", "list-unsubscribe"):
        if name in headers:
            return Classification(MailKind.BULK, f"{name} header")
    null_return_path = headers.get("return-path", "").strip() in ("<>", "")
    if null_return_path and ("return-path" in headers or envelope_from == ""):
        return Classification(MailKind.BULK, "empty return path")
    return None
