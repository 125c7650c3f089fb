"""Webhooks' rules: the events a hook may ask for, who gets what, the signature, the backoff."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from helpdesk.domain import webhooks
from helpdesk.domain.vocabulary import EventKind


def test_events_are_read_in_their_order_once_each() -> None:
    found = webhooks.parse_events(["ticket_resolved", " Ticket_Created", "ticket_resolved"])
    assert found == (EventKind.TICKET_CREATED, EventKind.TICKET_RESOLVED)
    assert len(webhooks.parse_events(e.value for e in webhooks.EVENTS)) == 7


@pytest.mark.parametrize(
    ("names", "said"),
    [
        (["ticket_resolvd"], "did you mean ticket_resolved?"),
        (["customer_blocked"], "known: ticket_created"),  # an event, but not one hooks get
        ([" "], "name at least one event"),
    ],
)
def test_unknown_events_are_refused_with_a_hint(names: list[str], said: str) -> None:
    with pytest.raises(ValueError, match=said):
        webhooks.parse_events(names)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/hook", "example.com/hook", "http:///hook", "http://h:99999/"]
)
def test_only_http_urls_with_a_host_are_hooks(url: str) -> None:
    with pytest.raises(ValueError):
        webhooks.check_url(url)
    assert webhooks.check_url(" https://crm.example.com:8443/hooks?t=1 ").startswith("https://")


def test_internal_comments_only_to_hooks_that_ask() -> None:
    events = {"ticket_commented"}
    assert webhooks.wants(events, False, "ticket_commented", internal=False)
    assert not webhooks.wants(events, False, "ticket_commented", internal=True)
    assert webhooks.wants(events, True, "ticket_commented", internal=True)
    assert not webhooks.wants(events, True, "ticket_created", internal=False)  # not asked


def test_the_signature_is_hmac_sha256_of_the_timestamp_and_the_body() -> None:
    body = b'{"event_id": 7}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert webhooks.signature("s3cret", "1700000000", body) == f"sha256={expected}"
    assert webhooks.signature("s3cret", "1700000001", body) != f"sha256={expected}"


def test_the_backoff_doubles_up_to_an_hour() -> None:
    assert [webhooks.backoff(30, n) for n in (1, 2, 3)] == [30, 60, 120]
    assert webhooks.backoff(30, 40) == webhooks.MAX_BACKOFF == 3600


def test_a_log_line_names_only_the_host_of_a_hook() -> None:
    url = "https://user:pw@crm.example.com:8443/in?token=abc"
    assert webhooks.where(url) == "https://crm.example.com:8443"
