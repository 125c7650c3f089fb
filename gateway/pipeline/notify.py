"""The last step of every mail: the outbox rows its changes call for, in the same transaction."""

from __future__ import annotations

from gateway import tickets
from gateway.notifications import Planner
from gateway.pipeline.context import Env, MailContext, Outcome


def stage(ctx: MailContext, env: Env) -> None:
    env.session.flush()
    planner = Planner(env.session, env.settings, env.now)
    automated = ctx.classification.automated if ctx.classification else True
    rows = planner.plan(tickets.recorded(env.session), automated=automated)
    if ctx.outcome is Outcome.REJECTED and not automated and ctx.sender is not None:
        reply = planner.rejected(ctx.sender.email, ctx.sender.name, ctx.mail.subject, ctx.reason)
        rows += [reply] if reply is not None else []
    env.session.flush()
    ctx.outbox_ids = [row.id for row in rows]
    if rows:
        ctx.decide("notify", ", ".join(f"{r.template} to {r.recipient}" for r in rows))
    else:
        ctx.decide("notify", "nobody to tell" + (" (automatic mail)" if automated else ""))
