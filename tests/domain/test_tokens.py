from __future__ import annotations

import pytest

from helpdesk.domain import tokens

SECRET = b"k" * 32


def test_sign_and_verify_round_trip() -> None:
    token = tokens.Token("TKT-4F7Q2K", tokens.Party.AGENT, 7)
    signed = tokens.sign(SECRET, token)
    assert signed.startswith("4f7q2k-a7-") and signed == signed.lower()
    assert tokens.verify(SECRET, signed) == token
    assert tokens.verify(SECRET, signed.upper()) == token  # relays may fold the case


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: s.replace("-a7-", "-a8-"),  # another party
        lambda s: s.replace("4f7q2k", "4f7q2m"),  # another ticket
        lambda s: s.replace("-a7-", "-c7-"),  # the customer instead of the agent
        lambda s: s[:-1] + ("a" if s[-1] != "a" else "b"),  # a tampered signature
        lambda s: s[:-2],  # a truncated signature
        lambda s: "",
        lambda s: s + "-extra",
    ],
)
def test_altered_tokens_do_not_verify(mutate: object) -> None:
    assert callable(mutate)
    signed = tokens.sign(SECRET, tokens.Token("TKT-4F7Q2K", tokens.Party.AGENT, 7))
    assert tokens.verify(SECRET, mutate(signed)) is None


def test_a_rotated_secret_invalidates_old_tokens() -> None:
    signed = tokens.sign(SECRET, tokens.Token("TKT-4F7Q2K", tokens.Party.CUSTOMER, 1))
    assert tokens.verify(b"another secret", signed) is None


def test_reply_address_and_split() -> None:
    token = tokens.Token("TKT-ABCDEF", tokens.Party.CUSTOMER, 12)
    address = tokens.reply_address(SECRET, "support@example.com", token)
    base, tag = tokens.split_plus(address)
    assert base == "support@example.com" and tokens.verify(SECRET, tag) == token
    assert tokens.split_plus("Support@Example.com") == ("support@example.com", "")
