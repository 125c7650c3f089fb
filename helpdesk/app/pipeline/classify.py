"""Stage: bounce, auto-reply, bulk or normal (the rules are the domain's)."""

from __future__ import annotations

from helpdesk.app.pipeline.context import Env, MailContext
from helpdesk.domain.mail.classify import classify


def stage(ctx: MailContext, env: Env) -> None:
    if ctx.classification is None:
        decide(ctx)


def decide(ctx: MailContext) -> None:
    """Pure, like ``parse.decode``: it may run before the transaction opens."""
    ctx.classification = classify(ctx.mail, ctx.envelope.envelope_from, ctx.envelope.raw)
    ctx.decide("classify", f"{ctx.classification.kind.value} ({ctx.classification.reason})")
