"""A reply waits for the mail it answers: when that mail is stored but still waiting (another
worker has it, or its unit of work ended before reaching it), the reply is held, not matched
to nothing and made a new ticket. A later drain takes it, after its parent."""

from __future__ import annotations

from sqlalchemy import select

from helpdesk.app.pipeline.context import Env, MailContext, Outcome
from helpdesk.domain.vocabulary import MailStatus
from storage.models import InboundMail


def stage(ctx: MailContext, env: Env) -> None:
    mail_id, references = ctx.envelope.mail_id, [*ctx.mail.in_reply_to, *ctx.mail.references]
    if mail_id is None or not references:
        return
    waiting = env.session.scalar(
        select(InboundMail.id)
        .where(
            InboundMail.status == MailStatus.RECEIVED,
            InboundMail.id < mail_id,
            InboundMail.message_id.in_(references[-50:]),
        )
        .limit(1)
    )
    if waiting is not None:
        ctx.finish("order", Outcome.HELD, f"answers mail {waiting}, which is still waiting")
