"""The hourly limit of new tickets per sender, decided without a database."""

from __future__ import annotations

from helpdesk.domain.senders import flood_reason


def test_below_the_limit_a_sender_opens_tickets() -> None:
    assert flood_reason("a@x.test", 9, 10) is None


def test_at_the_limit_the_next_new_mail_is_held_with_the_reason() -> None:
    reason = flood_reason("a@x.test", 10, 10)
    assert reason is not None
    assert "a@x.test opened 10 new tickets in the last hour" in reason
    assert "HELPDESK_MAX_NEW_TICKETS_PER_SENDER_HOUR" in reason and "replay" in reason


def test_no_limit_when_it_is_zero() -> None:
    assert flood_reason("a@x.test", 10_000, 0) is None
