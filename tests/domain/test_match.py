"""Thread matching as a pure decision over gathered facts."""

from __future__ import annotations

from helpdesk.domain import tokens
from helpdesk.domain.match import (
    ThreadFacts,
    TicketFacts,
    match_thread,
    recipient_tokens,
    subject_number,
)
from helpdesk.domain.vocabulary import Status

TICKET = TicketFacts(1, "TKT-AAAAAA", Status.OPEN, None, frozenset({"alice@c.test", "bob@c.test"}))
OTHER = TicketFacts(2, "TKT-BBBBBB", Status.OPEN, None, frozenset({"carol@c.test"}))


def test_token_wins_over_everything() -> None:
    token = tokens.Token("TKT-AAAAAA", tokens.Party.CUSTOMER, 1)
    facts = ThreadFacts(by_token=TICKET, token=token, by_our_reference=OTHER, by_subject=OTHER)
    match = match_thread(facts, "stranger@x.test", False)
    assert (match.ticket, match.reason, match.token) == (TICKET, "signed reply token", token)


def test_our_reference_joins_whoever_sends() -> None:
    match = match_thread(ThreadFacts(by_our_reference=TICKET), "new@x.test", False)
    assert match.ticket == TICKET and match.reason == "references our mail"


def test_their_reference_and_subject_only_from_a_party() -> None:
    for facts in (ThreadFacts(by_their_reference=TICKET), ThreadFacts(by_subject=TICKET)):
        assert match_thread(facts, "bob@c.test", False).ticket == TICKET
        assert match_thread(facts, "eve@x.test", False).ticket is None
        assert match_thread(facts, "agent@us.test", True).ticket == TICKET


def test_subject_from_a_stranger_says_why() -> None:
    match = match_thread(ThreadFacts(by_subject=TICKET), "eve@x.test", False)
    assert match.ticket is None and "TKT-AAAAAA" in match.reason


def test_subject_number() -> None:
    assert subject_number("Re: [tkt-4f7q2k] printer") == "TKT-4F7Q2K"
    assert subject_number("TKT-4F7Q2K without brackets") is None


def test_recipient_tokens_only_on_support_addresses() -> None:
    secret = b"s"
    token = tokens.Token("TKT-AAAAAA", tokens.Party.CUSTOMER, 3)
    good = tokens.reply_address(secret, "support@example.com", token)
    elsewhere = good.replace("@example.com", "@evil.test")
    forged = good.replace("-c3-", "-c4-")
    found = recipient_tokens([elsewhere, forged, good, good], ("support@example.com",), secret)
    assert found == [token]
