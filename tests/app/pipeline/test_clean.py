"""The parse and clean stages: what later stages store and send is masked and trimmed."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from helpdesk.app.pipeline import clean, parse
from helpdesk.app.pipeline.context import Env, Envelope, MailContext
from helpdesk.app.settings import Settings

RAW = (
    b"From: Card 4111111111111111 <alice@customer.test>\n"
    b"Subject: Card 4111 1111 1111 1111 charged twice\nMessage-ID: <4111111111111111@x.test>\n\n"
    b"Please refund 4111-1111-1111-1111 to DE89 3704 0044 0532 0130 00.\n\n"
    b"On Mon, Bob wrote:\n> old 4111111111111111\n"
)


def test_the_parse_stage_masks_what_every_later_stage_sees() -> None:
    """Commands, notes, refusals and the stored message all read ``ctx.mail``: masked once,
    there, as the mail is decoded; the raw mail stays as it came."""
    envelope = Envelope(None, RAW, "alice@customer.test", (), datetime.now(UTC), "test")
    ctx = MailContext(envelope)
    env = Env(Session(), Settings(), b"secret", datetime.now(UTC))
    parse.stage(ctx, env)
    assert ctx.mail.subject == "Card ************1111 charged twice"
    assert ctx.sender is not None and ctx.sender.name == "Card ************1111"
    assert ctx.mail.message_id == "<4111111111111111@x.test>"  # threading reads it as it is
    assert "4111" not in ctx.mail.text.replace("************1111", "")
    assert "DE****************3000" in ctx.mail.text
    clean.stage(ctx, env)
    assert ctx.body == "Please refund ************1111 to DE****************3000."
    assert ctx.trace[-1].stage == "clean"
    assert b"4111 1111 1111 1111" in ctx.envelope.raw
