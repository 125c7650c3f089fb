"""Stage: decode the stored bytes into a ParsedMail (the parsing itself is the domain's).

This is where mail comes in, so card numbers and IBANs are masked here, once, in everything
decoded: every later stage (commands and their arguments, notes, refusals, what is stored and
what is sent) sees only the masked text. The stored raw mail keeps the original, for audit.
"""

from __future__ import annotations

from helpdesk.app.pipeline.context import Env, MailContext
from helpdesk.domain.mail import parse as mail_parse
from helpdesk.domain.mail.parse import envelope_sender
from helpdesk.domain.sensitive import mask_mail


def stage(ctx: MailContext, env: Env) -> None:
    if ctx.parsed is None:
        decode(ctx)


def decode(ctx: MailContext) -> None:
    """Decode the stored bytes (pure: the processor runs it before its transaction opens)."""
    ctx.parsed = mask_mail(mail_parse.parse(ctx.envelope.raw))
    mail = ctx.parsed
    ctx.sender = mail.sender or envelope_sender(ctx.envelope.envelope_from)
    html = ", from HTML" if mail.from_html else ""
    defects = f", defects: {', '.join(mail.defects)}" if mail.defects else ""
    ctx.decide(
        "parse",
        f"{mail.content_type}, {len(mail.text)} chars of text{html}, "
        f"{len(mail.attachments)} attachment(s){defects}",
    )
