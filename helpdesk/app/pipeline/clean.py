"""Stage: keep the new words of the mail (the cleaning itself is the domain's)."""

from __future__ import annotations

from helpdesk.app.pipeline.context import Env, MailContext
from helpdesk.domain.mail.clean import tidy


def stage(ctx: MailContext, env: Env) -> None:
    """Keep the new words (the parse stage masked card numbers and IBANs already)."""
    ahead = ctx.cleaned if ctx.text is None else None  # commands changed nothing: still right
    cleaned = ahead or tidy(ctx.mail, ctx.text)
    ctx.body, ctx.content_hash = cleaned.body, cleaned.content_hash
    dropped = len(ctx.new_text.strip()) - len(ctx.body)
    ctx.decide(
        "clean", f"{len(ctx.body)} chars of new text ({max(dropped, 0)} quoted or signature)"
    )
