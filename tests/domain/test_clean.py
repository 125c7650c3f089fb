"""The new words of a mail: quotes and signatures stripped, forwards kept."""

from __future__ import annotations

import pytest

from helpdesk.domain.mail.clean import (
    content_hash,
    is_forward,
    new_text,
    normalized_subject,
    split_forward,
)

# --- quotes and signatures ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (
            "Thanks, that fixed it.\n\nOn Mon, 3 Feb 2020 at 10:00, Support <s@x.test> wrote:\n"
            "> Please restart the printer.\n> Kind regards",
            "Thanks, that fixed it.",
        ),
        (  # the header folded over three lines, as Apple Mail and Gmail write it
            "Works now.\n\nOn Dec 16, 2011, at 12:47 PM, Corey Donohoe\n<reply@reply.github.com>"
            "\nwrote:\n\n> Was this caching related?",
            "Works now.",
        ),
        ("Here is another email\n\nSent from my iPhone", "Here is another email"),
        ("Quick note\n\nSent from my Verizon Wireless BlackBerry\n", "Quick note"),
        ("Regards below\n\n-- \nRick\nACME Corp, +1 555 0100", "Regards below"),
        ("Hi\n\n-Abhishek Kona\n", "Hi"),
        (
            "Outlook with a reply\n\n-----Original Message-----\nFrom: Support\nSent: Monday\n\n"
            "Old text",
            "Outlook with a reply",
        ),
        (
            "Outlook above the line\n________________________________\nFrom: Support\nOld text",
            "Outlook above the line",
        ),
    ],
)
def test_quotes_and_signatures_are_stripped(text: str, kept: str) -> None:
    assert new_text(text) == kept


@pytest.mark.parametrize(
    "text",
    [
        "Here is another email\n\nSent from my desk, is much easier then my mobile phone.",
        "And here is a fix -- this is not a signature.\n\nkthxbai",
        "One: here is what I have.\n\n- first bullet\n- second bullet",
        "Our office is in Room 4.\nOnce done, tell me.",
    ],
)
def test_own_words_are_kept(text: str) -> None:
    assert new_text(text) == text


def test_quoted_header_with_a_backslash_does_not_raise() -> None:
    """email_reply_parser used the header as a regex replacement template: bad escape \\U."""
    text = "Done.\n\nOn Tue, Bob <C:\\Users\\bob> wrote:\n> hello\n"
    assert new_text(text) == "Done."


def test_many_on_words_without_a_quote_are_left_alone() -> None:
    """The library's "On ... wrote:" regex backtracks cubically here; the line scan does not."""
    text = "On " * 3000
    assert new_text(text) == text.strip()


# --- forwards -------------------------------------------------------------------------------

GMAIL_FORWARD = (
    "Can you look at this?\n\n---------- Forwarded message ---------\nFrom: Bob <bob@x.test>\n"
    "Subject: Invoice\n\nThe invoice is wrong.\n\n-- \nBob"
)


def test_a_forwarded_mail_is_content() -> None:
    assert new_text(GMAIL_FORWARD) == GMAIL_FORWARD


def test_a_forward_without_own_words() -> None:
    text = "\n\n-------- Forwarded Message --------\nSubject: X\nFrom: Bob <b@x.test>\n\nBody\n"
    assert new_text(text) == text.strip()


def test_apple_mail_forward() -> None:
    text = "FYI\n\nBegin forwarded message:\n\nFrom: Bob <b@x.test>\nSubject: X\n\nBody"
    assert split_forward(text) == (
        "FYI\n",
        "Begin forwarded message:\n\nFrom: Bob <b@x.test>\nSubject: X\n\nBody",
    )


def test_a_forward_marker_below_the_quote_is_history() -> None:
    text = "Thanks!\n\nOn Mon, Bob wrote:\n> ---------- Forwarded message ---------\n> old"
    assert new_text(text) == "Thanks!"


def test_outlook_original_message_is_a_forward_only_when_the_subject_says_so() -> None:
    text = "See below.\n\n-----Original Message-----\nFrom: Bob\nSent: Monday\n\nThe printer"
    assert new_text(text) == "See below."
    assert new_text(text, forwarded=True) == text
    assert is_forward("Fwd: printer") and is_forward("FW: printer") and is_forward("[Fwd: x]")
    assert not is_forward("Re: printer") and not is_forward("Forward planning")


# --- subjects ---------------------------------------------------------------------------


def test_normalized_subject_and_content_hash() -> None:
    assert normalized_subject("RE: Aw: Fwd[2]: Printer") == "Printer"
    assert content_hash("Re: Printer", "on  fire") == content_hash("printer", "on fire")
    assert content_hash("Printer", "on fire") != content_hash("Printer", "off")
