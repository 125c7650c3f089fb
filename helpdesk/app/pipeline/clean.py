"""Stage: keep the new words of the mail (the cleaning itself is the domain's).

A customer's mail whose new words come to nothing (all quoted, or all taken for a signature) was
not stored at all: a reply joined its ticket with no message, and a new mail was refused as too
short. It is now kept whole, unquoted, below a note (``clean.kept_whole``). An agent's mail is
not: what an agent quotes may be an internal note, and the customer must never get it
(invariant 4); their command lines still apply, and the trace says the text was empty.
"""

from __future__ import annotations

from helpdesk.app.pipeline.context import Env, MailContext
from helpdesk.domain.mail.clean import kept_whole, tidy


def stage(ctx: MailContext, env: Env) -> None:
    """Keep the new words (the parse stage masked card numbers and IBANs already)."""
    ahead = ctx.cleaned if ctx.text is None else None  # commands changed nothing: still right
    cleaned = ahead or tidy(ctx.mail, ctx.text)
    whole = not cleaned.body.strip() and bool(ctx.new_text.strip()) and ctx.agent is None
    if whole:
        cleaned = kept_whole(ctx.mail, ctx.new_text)
    ctx.body, ctx.content_hash = cleaned.body, cleaned.content_hash
    if whole:
        ctx.decide("clean", "no new text above the quote: the whole mail is kept, with a note")
        return
    dropped = len(ctx.new_text.strip()) - len(ctx.body)
    ctx.decide(
        "clean", f"{len(ctx.body)} chars of new text ({max(dropped, 0)} quoted or signature)"
    )
