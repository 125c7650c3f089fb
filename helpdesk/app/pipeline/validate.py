"""A new ticket needs a subject and a body of the configured minimum length.

An agent's new mail that opens no ticket (``#list``, ``#show``, ``#help``) has nothing to check.
"""

from __future__ import annotations

from helpdesk.app.pipeline.context import Env, MailContext, Outcome


def problems(subject: str, body: str, attachments: int, min_body_chars: int) -> list[str]:
    found = []
    if not subject.strip():
        found.append("the subject is empty")
    if len(body.strip()) < min_body_chars and not attachments:
        found.append(f"the message has fewer than {min_body_chars} characters of text")
    return found


def stage(ctx: MailContext, env: Env) -> None:
    if ctx.ticket is not None:
        return
    if ctx.plan is not None and ctx.plan.new_ticket_for is None:
        ctx.decide("validate", "opens no ticket")
        return
    found = problems(
        ctx.mail.subject, ctx.body, len(ctx.mail.attachments), env.settings.min_body_chars
    )
    if found:
        ctx.finish("validate", Outcome.REJECTED, "; ".join(found))
    else:
        ctx.decide("validate", "subject and body present")
