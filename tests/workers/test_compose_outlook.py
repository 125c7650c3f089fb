"""Outlook's threading headers on our mails, and the Thread-Index arithmetic they carry."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest

from helpdesk.domain.mail import thread_index
from tests.workers.test_render import draft
from workers.compose import WIRE, HeaderInjection, compose

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def sent(**changes: object) -> bytes:
    return compose(draft(**changes), "support@example.com", "Support").as_bytes(policy=WIRE)


def test_thread_index_and_topic_go_out_as_headers() -> None:
    index = thread_index.reply_index("", "TKT-AAAAAA", "example.com", NOW, NOW, "<1@x>")
    mail = message_from_bytes(
        sent(thread_index=index, thread_topic="Drucker läuft heiß"), policy=policy.default
    )
    assert mail["Thread-Index"] == index
    assert str(mail["Thread-Topic"]) == "Drucker läuft heiß"  # RFC 2047 on the wire
    assert b"Thread-Topic: =?utf-8?" in sent(thread_index=index, thread_topic="Drucker läuft heiß")


def test_no_thread_index_no_headers() -> None:
    assert b"Thread-Index" not in sent() and b"Thread-Topic" not in sent()


def test_a_thread_index_with_a_line_break_is_refused() -> None:
    with pytest.raises(HeaderInjection):
        sent(thread_index="AQ==\r\nBcc: victim@example.org", thread_topic="x")
