"""The clean stage: what later stages store and send is masked and trimmed."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from helpdesk.app.pipeline import clean
from helpdesk.app.pipeline.context import Env, Envelope, MailContext
from helpdesk.app.settings import Settings
from helpdesk.domain.mail.parse import parse


def test_stage_masks_the_subject_and_the_text_later_stages_store() -> None:
    raw = (
        b"From: alice@customer.test\nSubject: Card 4111 1111 1111 1111 charged twice\n\n"
        b"Please refund 4111-1111-1111-1111.\n\nOn Mon, Bob wrote:\n> old\n"
    )
    envelope = Envelope(None, raw, "alice@customer.test", (), datetime.now(UTC), "test")
    ctx = MailContext(envelope, parsed=parse(raw))
    clean.stage(ctx, Env(Session(), Settings(), b"secret", datetime.now(UTC)))
    assert ctx.body == "Please refund ************1111."
    assert ctx.mail.subject == "Card ************1111 charged twice"
    assert "4111" not in ctx.mail.text.replace("************1111", "")
    assert ctx.trace[-1].stage == "clean"
