"""Card numbers and IBANs masked: the checks decide, so order and tracking numbers stay whole."""

from __future__ import annotations

import pytest

from helpdesk.domain import orders
from helpdesk.domain.mail.parse import parse
from helpdesk.domain.sensitive import (
    IBAN_LENGTHS,
    iban_valid,
    luhn_valid,
    mask,
    mask_cards,
    mask_ibans,
    mask_mail,
)

# --- card numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("card 4111 1111 1111 1111 please", "card ************1111 please"),
        ("card 4111-1111-1111-1111.", "card ************1111."),
        ("amex 378282246310005", "amex ***********0005"),
        ("4111111111111111", "************1111"),
    ],
)
def test_valid_card_numbers_are_masked(text: str, masked: str) -> None:
    assert mask_cards(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112",  # one digit off: fails the Luhn check
        "19 digits 6011000990139424000 end",
        "order 123456789012",  # twelve digits: too short for a card
        "tracking 12345678901234567890123",  # longer than any card
        "call +49 30 1234 5678 9",
        "invoice 2024-0001-0002-0003",
        "write to 4111111111111111@sms.example",  # an address's local part: where mail goes
    ],
)
def test_other_digit_runs_are_untouched(text: str) -> None:
    assert mask_cards(text) == text


def test_luhn() -> None:
    assert luhn_valid("4111111111111111") and luhn_valid("79927398713")
    assert not luhn_valid("4111111111111112") and not luhn_valid("79927398710")


# --- IBANs ----------------------------------------------------------------------------------

# Examples of SWIFT's IBAN registry and of national banks: each passes mod-97.
VALID = [
    "DE89370400440532013000",
    "GB82WEST12345698765432",
    "FR1420041010050500013M02606",
    "NL91ABNA0417164300",
    "BE68539007547034",
    "CH9300762011623852957",
    "NO9386011117947",
    "ES9121000418450200051332",
    "IT60X0542811101000000123456",
    "PL61109010140000071219812874",
]


@pytest.mark.parametrize("iban", VALID)
def test_registry_examples_pass_the_check(iban: str) -> None:
    assert iban_valid(iban) and len(iban) == IBAN_LENGTHS[iban[:2]]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("IBAN DE89370400440532013000.", "IBAN DE****************3000."),
        ("to DE89 3704 0044 0532 0130 00 please", "to DE****************3000 please"),
        ("(gb82 west 1234 5698 7654 32)", "(GB****************5432)"),
        ("FR1420041010050500013M02606", "FR*********************2606"),
        ("IBAN:NO9386011117947", "IBAN:NO*********7947"),
        (
            "DE89 3704 0044 0532 0130 00 and DE89370400440532013000",
            "DE****************3000 and DE****************3000",
        ),
    ],
)
def test_ibans_that_pass_the_check_keep_their_country_and_last_four(text: str, masked: str) -> None:
    """As a card keeps its last four digits: enough to tell two accounts apart, no more."""
    assert mask_ibans(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "order DE89370400440532013001",  # one digit off: the check fails
        "order DE00370400440532013000",
        "ref AB12345678901234567890",  # no such country
        "DE893704004405320130001",  # one character longer than a German IBAN
        "XDE89370400440532013000",  # inside a longer word
        "serial GB82-WEST-1234-5698-7654-32",  # dashes are not how IBANs are written
    ],
)
def test_other_codes_are_untouched(text: str) -> None:
    assert mask_ibans(text) == text


def test_mask_does_both_and_changes_nothing_twice() -> None:
    """A short IBAN's digits could pass for a card: IBANs go first. Masking a masked text
    changes nothing (the HTTP side and the pipeline may both see a text)."""
    text = "card 4111 1111 1111 1111, account NO93 8601 1117 947"
    once = mask(text)
    assert once == "card ************1111, account NO*********7947"
    assert mask(once) == once


def test_a_long_adversarial_text_is_masked_in_linear_time() -> None:
    text = "DE12 " * 20_000 + "4 " * 20_000
    assert mask(text) == text


# --- what a mail carries --------------------------------------------------------------------


def test_every_text_a_person_wrote_is_masked_and_the_machinery_is_not() -> None:
    raw = (
        b"From: Card 4111111111111111 <4111111111111111@customer.test>\n"
        b"To: support@example.com, IBAN DE89370400440532013000 <b@customer.test>\n"
        b"Subject: refund DE89370400440532013000\n"
        b"Message-ID: <4111111111111111@customer.test>\n"
        b"In-Reply-To: <DE89370400440532013000@us.test>\n"
        b"Content-Type: multipart/mixed; boundary=b\n\n--b\n"
        b"Content-Type: text/plain\n\nCard 4111 1111 1111 1111\n--b\n"
        b'Content-Type: text/plain; name="card_4111111111111111.txt"\n'
        b'Content-Disposition: attachment; filename="card_4111111111111111.txt"\n\n'
        b"4111111111111111\n--b--\n"
    )
    mail = mask_mail(parse(raw))
    assert mail.subject == "refund DE****************3000"
    assert mail.text.strip() == "Card ************1111"
    assert mail.sender is not None and mail.sender.name == "Card ************1111"
    assert mail.sender.email == "4111111111111111@customer.test"
    assert mail.to[1].name == "IBAN DE****************3000"
    assert mail.message_id == "<4111111111111111@customer.test>"
    assert mail.in_reply_to == ("<DE89370400440532013000@us.test>",)
    [attachment] = mail.attachments
    assert attachment.filename == "card_************1111.txt"
    assert attachment.content.strip() == b"4111111111111111"  # a file is kept as it was sent


def test_an_order_services_line_is_masked() -> None:
    """The order service is a way in too: its line is kept and mailed to agents."""
    line = orders.summary({"status": "paid", "card": "4111 1111 1111 1111"})
    assert line == "status: paid, card: ************1111"
