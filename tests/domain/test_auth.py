"""Who may act as an agent, decided over facts; and the readers of DKIM and A-R headers."""

from __future__ import annotations

from ipaddress import ip_network

from helpdesk.domain.auth import (
    AuthFacts,
    Verdict,
    authorise,
    authres_verdict,
    dkim_verdict,
    relayed,
)
from helpdesk.domain.commands.base import Scope
from helpdesk.domain.tokens import Party, Token

ANNS = Token("TKT-AAAAAA", Party.AGENT, 1)


def facts(**changes: object) -> AuthFacts:
    values: dict[str, object] = {
        "sender": "ann@us.test",
        "agent_id": 1,
        "token": ANNS,
        "ticket_number": "TKT-AAAAAA",
        "to_support_address": False,
        "required": False,
        "verdict": Verdict.NONE,
    }
    values.update(changes)
    return AuthFacts(**values)  # type: ignore[arg-type]


def test_the_agents_own_token() -> None:
    assert authorise(facts()).scope is Scope.TICKET


def test_refusals() -> None:
    assert not authorise(facts(agent_id=None)).ok
    assert not authorise(facts(token=Token("TKT-AAAAAA", Party.AGENT, 2))).ok
    assert not authorise(facts(token=Token("TKT-AAAAAA", Party.CUSTOMER, 1))).ok
    assert not authorise(facts(ticket_number="TKT-BBBBBB")).ok
    assert not authorise(facts(token=None)).ok
    assert not authorise(facts(required=True, verdict=Verdict.FAIL)).ok
    assert not authorise(facts(required=True, verdict=Verdict.NONE)).ok


def test_new_mail_and_required_authentication() -> None:
    new = authorise(facts(token=None, ticket_number=None, to_support_address=True))
    assert new.ok and new.scope is Scope.NEW
    assert authorise(facts(required=True, verdict=Verdict.PASS)).ok


HEAD = b"From: ann@us.test\r\nSubject: x\r\n"


def test_authentication_results_topmost_and_trusted_only() -> None:
    trusted = frozenset({"mx.example.com"})
    good = b"Authentication-Results: mx.example.com; dkim=pass header.d=us.test\r\n"
    other = b"Authentication-Results: mx.example.com; dkim=pass header.d=evil.test\r\n"
    lower = b"Received: by mx.example.com\r\n" + good
    assert authres_verdict(good + HEAD + b"\r\nhi", "us.test", trusted) is Verdict.PASS
    assert authres_verdict(other + HEAD + b"\r\nhi", "us.test", trusted) is Verdict.FAIL
    assert authres_verdict(good + HEAD, "us.test", frozenset()) is Verdict.NONE
    buried = b"Authentication-Results: evil.test; none\r\n" + lower + HEAD
    assert authres_verdict(buried, "us.test", trusted) is Verdict.NONE


def test_no_signature_is_none_and_garbage_is_fail() -> None:
    assert dkim_verdict(HEAD + b"\r\nhi\r\n", "us.test") is Verdict.NONE
    broken = b"DKIM-Signature: v=1; a=rsa-sha256; d=us.test; s=x; b=AAAA; bh=AAAA\r\n" + HEAD
    assert dkim_verdict(broken + b"\r\nhi\r\n", "us.test", lambda *a, **k: b"") is Verdict.FAIL


def test_authentication_results_count_only_from_a_relay() -> None:
    relays = [ip_network("192.0.2.0/28"), ip_network("2001:db8::25/128")]
    assert relayed("smtp", "192.0.2.7", relays) and relayed("smtp", "2001:db8::25", relays)
    assert not relayed("smtp", "192.0.2.77", relays) and not relayed("smtp", "", relays)
    assert relayed("imap", "", [])  # the mailbox's own server received it
