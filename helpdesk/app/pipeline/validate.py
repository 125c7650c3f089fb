"""A new ticket needs a subject and a body of the configured minimum lengths.

An agent's new mail that opens no ticket (``#list``, ``#show``, ``#help``) has nothing to check.
The HTTP API's new tickets are held to the same ``problems``.
"""

from __future__ import annotations

from helpdesk.app.pipeline.context import Env, MailContext, Outcome
from helpdesk.app.settings import Settings


def problems(subject: str, body: str, attachments: int, settings: Settings) -> list[str]:
    found = []
    if not subject.strip():
        found.append("the subject is empty")
    elif len(subject.strip()) < settings.min_subject_chars:
        found.append(f"the subject has fewer than {settings.min_subject_chars} characters")
    if len(body.strip()) < settings.min_body_chars and not attachments:
        found.append(f"the message has fewer than {settings.min_body_chars} characters of text")
    return found


def stage(ctx: MailContext, env: Env) -> None:
    if ctx.ticket is not None:
        return
    if ctx.plan is not None and ctx.plan.new_ticket_for is None:
        ctx.decide("validate", "opens no ticket")
        return
    found = problems(ctx.mail.subject, ctx.body, len(ctx.mail.attachments), env.settings)
    if found:
        ctx.finish("validate", Outcome.REJECTED, "; ".join(found))
    else:
        ctx.decide("validate", "subject and body present")
