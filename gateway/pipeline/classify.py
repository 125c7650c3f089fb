"""Tell normal mail from bounces, auto-replies and bulk mail (RFC 3834, RFC 3464, RFC 2369).

Deciding only: the pipeline decides what each kind means. Rules follow Mailman's
``can_acknowledge`` and RFC 3834 section 2.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway.pipeline.parse import ParsedMail

if TYPE_CHECKING:
    from gateway.pipeline.context import Env, MailContext

_DAEMONS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.I)
_OUT_OF_OFFICE = re.compile(
    r"^(auto(matic)?[ -]?(reply|response)|out of (the )?office|abwesenheit|réponse automatique)",
    re.I,
)


class MailKind(enum.StrEnum):
    NORMAL = "normal"
    BULK = "bulk"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"


@dataclass(frozen=True)
class Classification:
    kind: MailKind
    reason: str

    @property
    def automated(self) -> bool:
        """Mail that must never be answered automatically."""
        return self.kind is not MailKind.NORMAL


def classify(mail: ParsedMail, envelope_from: str) -> Classification:
    headers = mail.headers
    sender = mail.sender.email if mail.sender else ""
    report_type = "delivery-status" in mail.report.lower() or "x-failed-recipients" in headers
    if mail.content_type == "multipart/report" or report_type:
        return Classification(MailKind.BOUNCE, "delivery status notification")
    if _DAEMONS.match(sender) or _DAEMONS.match(envelope_from):
        return Classification(MailKind.BOUNCE, f"sent by {sender or envelope_from}")
    auto = headers.get("auto-submitted", "no").split(";")[0].strip().lower()
    if auto != "no":
        return Classification(MailKind.AUTO_REPLY, f"Auto-Submitted: {auto}")
    for name in ("x-autoreply", "x-autorespond"):
        if name in headers:
            return Classification(MailKind.AUTO_REPLY, f"{name} header")
    precedence = headers.get("precedence", "").strip().lower()
    if precedence == "auto_reply":
        return Classification(MailKind.AUTO_REPLY, "Precedence: auto_reply")
    if precedence in ("bulk", "junk", "list"):
        return Classification(MailKind.BULK, f"Precedence: {precedence}")
    for name in ("list-id", "list-unsubscribe"):
        if name in headers:
            return Classification(MailKind.BULK, f"{name} header")
    null_return_path = headers.get("return-path", "").strip() in ("<>", "")
    if null_return_path and ("return-path" in headers or envelope_from == ""):
        return Classification(MailKind.BULK, "empty return path")
    if _OUT_OF_OFFICE.match(mail.subject):
        return Classification(MailKind.AUTO_REPLY, "out-of-office subject")
    return Classification(MailKind.NORMAL, "no automation markers")


def stage(ctx: MailContext, env: Env) -> None:
    ctx.classification = classify(ctx.mail, ctx.envelope.envelope_from)
    ctx.decide("classify", f"{ctx.classification.kind.value} ({ctx.classification.reason})")
