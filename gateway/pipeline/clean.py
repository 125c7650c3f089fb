"""The new part of a mail's text: quoted history and signature stripped, card numbers masked."""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

from email_reply_parser import EmailReplyParser

if TYPE_CHECKING:
    from gateway.pipeline.context import Env, MailContext

_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|fw|fwd|wg|tr)(\[\d+\])?\s*:\s*)+", re.I)
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def mask_cards(text: str) -> str:
    """Mask digit runs that pass the Luhn check, keeping the last four digits."""

    def _mask(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        if not 13 <= len(digits) <= 19 or not luhn_valid(digits):
            return match.group()
        return "*" * (len(digits) - 4) + digits[-4:]

    return _CARD.sub(_mask, text)


def new_text(text: str) -> str:
    """The reply's own words: what is left after the quote and the signature."""
    return mask_cards(EmailReplyParser.parse_reply(text).strip())


def normalized_subject(subject: str) -> str:
    return _REPLY_PREFIX.sub("", subject).strip()


def content_hash(subject: str, body: str) -> str:
    """What "the same content" means for duplicate detection: subject and new text."""
    text = f"{normalized_subject(subject).lower()}\n{' '.join(body.split())}"
    return hashlib.sha256(text.encode()).hexdigest()


def stage(ctx: MailContext, env: Env) -> None:
    ctx.body = new_text(ctx.mail.text)
    ctx.content_hash = content_hash(ctx.mail.subject, ctx.body)
    dropped = len(ctx.mail.text.strip()) - len(ctx.body)
    ctx.decide(
        "clean", f"{len(ctx.body)} chars of new text ({max(dropped, 0)} quoted or signature)"
    )
