"""Digests, decided: what is held, and until when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpdesk.domain import digests
from helpdesk.domain.notices import Template
from helpdesk.domain.vocabulary import Priority


def test_only_calm_news_for_an_agent_who_asked_is_held() -> None:
    assert digests.gathered(Template.AGENT_CUSTOMER_REPLY, Priority.MEDIUM, 30)
    assert digests.gathered(Template.AGENT_NEW_TICKET, Priority.LOW, 60)
    assert not digests.gathered(Template.AGENT_CUSTOMER_REPLY, Priority.HIGH, 30)
    assert not digests.gathered(Template.AGENT_CUSTOMER_REPLY, Priority.URGENT, 30)
    assert not digests.gathered(Template.AGENT_SLA_ALERT, Priority.LOW, 30)  # alerts: at once
    assert not digests.gathered(Template.AGENT_FEEDBACK, Priority.LOW, 30)
    assert not digests.gathered(Template.AGENT_CUSTOMER_REPLY, Priority.LOW, None)


def test_every_mail_of_a_period_is_due_at_its_end() -> None:
    start = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    ends = {digests.due(start + timedelta(minutes=m), 30) for m in (0, 1, 17, 29)}
    assert ends == {start + timedelta(minutes=30)}
    assert digests.due(start + timedelta(minutes=30), 30) == start + timedelta(minutes=60)
    assert digests.due(start + timedelta(hours=5), 1440) == datetime(2026, 12, 3, tzinfo=UTC)


def test_an_excerpt_is_short_and_on_one_line() -> None:
    written = "Hello,\n\n  the printer\tis on fire."
    assert digests.excerpt(written) == "Hello, the printer is on fire."
    assert len(digests.excerpt("word " * 1000)) == digests.EXCERPT
