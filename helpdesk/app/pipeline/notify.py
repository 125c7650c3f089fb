"""The last step of every mail: the outbox rows its changes call for, in the same transaction.

Besides what the ticket events call for: the feedback to an agent's command mail, the notice to
an agent that a mail in their name was not applied, and the answer to a customer's ``#help``.
"""

from __future__ import annotations

from helpdesk.app import feedback, unit_of_work
from helpdesk.app.notifications import Planner
from helpdesk.app.pipeline.commands import agent_info
from helpdesk.app.pipeline.context import Env, MailContext, Outcome
from helpdesk.domain.commands.effects import SignIn
from helpdesk.domain.commands.registry import help_text
from storage.models import Agent, Outbox


def stage(ctx: MailContext, env: Env) -> None:
    planner = Planner(env.session, env.settings, env.now)
    automated = ctx.classification.automated if ctx.classification else True
    rows = planner.plan(unit_of_work.unit(env.session).events, automated=automated)
    if not automated:
        rows += _answers(ctx, env, planner)
    ctx.outbox = rows  # their ids once the unit of work is flushed
    if rows:
        ctx.decide("notify", ", ".join(f"{r.template} to {r.recipient}" for r in rows))
    else:
        ctx.decide("notify", "nobody to tell" + (" (automatic mail)" if automated else ""))


def _answers(ctx: MailContext, env: Env, planner: Planner) -> list[Outbox]:
    sender = ctx.sender
    found: list[Outbox | None] = []
    plain_rejection = ctx.plan is None and ctx.notice_agent_id is None
    if ctx.outcome is Outcome.REJECTED and plain_rejection and sender is not None:
        found.append(planner.rejected(sender.email, sender.name, ctx.mail.subject, ctx.reason))
    if ctx.help_requested and sender is not None:
        reply = planner.help_reply(sender.email, sender.name, ctx.mail.message_id)
        if reply is not None:
            reply.context = {**reply.context, "help": help_text()}
        found.append(reply)
    if ctx.notice_agent_id is not None:
        found.append(_notice(ctx, env, planner))
    if ctx.plan is not None and ctx.agent is not None:
        found.append(_feedback(ctx, env, planner, ctx.agent))
    return [row for row in found if row is not None]


def _notice(ctx: MailContext, env: Env, planner: Planner) -> Outbox | None:
    agent = env.session.get(Agent, ctx.notice_agent_id)
    if agent is None:
        return None
    extra = {
        "reason": ctx.reason,
        "subject": ctx.mail.subject,
        "sender": ctx.sender.email if ctx.sender else "",
        "received_at": ctx.envelope.received_at.strftime("%Y-%m-%d %H:%M UTC"),
    }
    return planner.notice(agent, extra)


def _feedback(ctx: MailContext, env: Env, planner: Planner, agent: Agent) -> Outbox | None:
    assert ctx.plan is not None
    if not ctx.plan.actions and not ctx.plan.problems:
        return None  # a plain reply: the customer hears of it, the agent needs no receipt
    me = agent_info(env, agent)
    ticket = ctx.ticket or feedback.shown_ticket(env.session, ctx.plan, me)
    posted = ""
    if ctx.body.strip() and ctx.applied:
        posted = "internal note added" if ctx.plan.internal else "reply sent to the customer"
    refusal = "" if ctx.applied or ctx.plan.problems else ctx.reason  # stopped before apply
    extra = {
        **feedback.summary(ctx.plan, ctx.ticket, posted, refusal),
        "answers": (
            feedback.answers(
                env.session, ctx.plan, me, env.now, bool(env.settings.order_lookup_url)
            )
            if ctx.applied
            else []
        ),
        "subject": ctx.mail.subject,
    }
    chart = feedback.chart_asked(env.session, ctx.plan, env.now) if ctx.applied else None
    if chart is not None:
        extra["chart"] = chart
    if ctx.applied and any(isinstance(a, SignIn) for a in ctx.plan.answers):
        extra["signin"] = True
    return planner.feedback(agent, ticket, extra, ctx.mail.message_id)
