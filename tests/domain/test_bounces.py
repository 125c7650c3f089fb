"""Bounces in every MTA's format (flufl.bounce's own samples), and ordinary mail that is none."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from helpdesk.domain.mail.bounces import detect, diagnostic
from helpdesk.domain.mail.classify import MailKind, classify
from helpdesk.domain.mail.parse import parse
from tests.helpers import CORPORA

SAMPLES = Path(__file__).parent / "bounce_samples"

# (file, the addresses flufl.bounce's tests expect, a delay warning rather than a failure)
BOUNCES = [
    ("postfix_01.txt", ["xxxxx@local.ie"], False),
    ("postfix_02.txt", ["yyyyy@digicool.com"], False),
    ("postfix_03.txt", ["ttttt@ggggg.com"], False),
    ("postfix_04.txt", ["userx@mail1.example.com"], False),
    ("postfix_05.txt", ["userx@example.net"], False),
    ("exim_01.txt", ["userx@its.example.nl"], False),
    ("sendmail_01.txt", ["zzzzz@shaft.coal.nl", "zzzzz@nfg.nl"], False),
    ("qmail_01.txt", ["userx@example.de"], False),
    ("qmail_02.txt", ["userx@example.com"], False),
    ("qmail_03.txt", ["userx@example.jp"], False),
    ("qmail_04.txt", ["userx@example.au"], False),
    ("qmail_05.txt", ["userx@example.com"], False),
    ("qmail_06.txt", ["ntl@xxx.com"], False),
    ("qmail_07.txt", ["user@example.net"], False),
    ("microsoft_01.txt", ["userx@example.com"], False),  # Exchange
    ("microsoft_02.txt", ["userx@example.com"], False),
    ("microsoft_03.txt", ["userx@example.com"], False),
    ("microsoft_04.txt", ["userx@example.com"], False),  # SMTPSVC
    ("yahoo_01.txt", ["userx@example.com"], False),
    ("yahoo_02.txt", ["userx@example.es"], False),
    ("yahoo_03.txt", ["userx@example.com"], False),
    ("yahoo_04.txt", ["userx@example.es", "usery@example.uk"], False),
    ("yahoo_11.txt", ["bad_user@aol.com"], False),
    ("yahoo_12.txt", ["user@yahoo.com"], False),
    ("yahoo_13.txt", ["bogus-address@example.net"], False),
    ("aol_01.txt", ["screenname@aol.com"], False),
    ("groupwise_01.txt", ["userx@example.edu"], False),
    ("netscape_01.txt", ["aaaaa@corel.com", "bbbbb@corel.com"], False),
    ("llnl_01.txt", ["user1@example.gov"], False),
    ("smtp32_01.txt", ["userx@example.ph"], False),
    ("yale_01.txt", ["userx@cs.yale.edu", "userx@yale.edu"], False),
    ("sina_01.txt", ["userx@sina.com", "usery@sina.com"], False),
    ("caiwireless_01.txt", ["userx@example.com"], False),
    ("hotpop_01.txt", ["userx@example.com"], False),
    ("newmailru_01.txt", ["zzzzz@newmail.ru"], False),
    ("bounce_02.txt", ["userx@example.com"], False),
    ("simple_01.txt", ["bbbsss@example.com"], False),
    ("simple_02.txt", ["userx@example.net"], False),
    ("simple_04.txt", ["userx@example.com"], False),
    ("simple_05.txt", ["userx@example.net"], False),
    ("simple_38.txt", ["userx@example.com"], False),  # Sieve's reject, as an MDN
    ("simple_45.txt", ["subscriber@earthlink.net"], False),
    ("simple_03.txt", ["userx@example.za"], True),  # SimpleWarning
    ("simple_21.txt", ["userx@example.com"], True),
    ("simple_22.txt", ["user@example.org"], True),
    ("dsn_01.txt", ["userx@example.com"], False),
    ("dsn_02.txt", ["zzzzz@example.uk"], False),
    ("dsn_03.txt", ["userx@example.be"], False),
    ("dsn_04.txt", ["userx@example.ch"], False),
    ("dsn_05.txt", ["userx@example.cz"], True),
    ("dsn_10.txt", ["anne.person@dom.ain"], False),
    ("dsn_11.txt", ["joem@example.com"], False),
    ("dsn_12.txt", ["userx@example.jp"], False),
    ("dsn_13.txt", ["userx@example.com"], False),
    ("dsn_14.txt", ["userx@example.com.dk"], False),
    ("dsn_15.txt", ["userx@example.com"], False),
    ("dsn_16.txt", ["userx@example.com"], False),
    ("dsn_17.txt", ["userx@example.fi"], True),
    ("dsn_18.txt", ["email@replaced.net"], False),
]
NOT_BOUNCES = ["groupwise_03.txt", "qmail_08.txt"]  # a reply, and an auto-reply, among them


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def test_every_sample_is_checked() -> None:
    named = {name for name, _, _ in BOUNCES} | set(NOT_BOUNCES)
    assert named == {p.name for p in SAMPLES.glob("*.txt")}


@pytest.mark.parametrize(("name", "expected", "delayed"), BOUNCES, ids=[b[0] for b in BOUNCES])
def test_a_bounce_names_its_addresses(name: str, expected: list[str], delayed: bool) -> None:
    """Sent as MTAs send them, with a null return path (``MAIL FROM:<>``)."""
    raw = sample(name)
    found = classify(parse(raw), "", raw)
    assert found.kind is MailKind.BOUNCE, found.reason
    named = found.failures.delayed if delayed else found.failures.failed
    assert set(expected) <= set(named)
    if delayed:  # a warning: still being tried, so nobody is marked
        assert not found.failures.failed


@pytest.mark.parametrize("name", NOT_BOUNCES)
def test_what_only_looks_like_a_bounce_is_none(name: str) -> None:
    raw = sample(name)
    found = classify(parse(raw), "", raw)
    assert found.kind is not MailKind.BOUNCE
    assert not found.failures


def test_a_customer_quoting_a_bounce_asks_a_question() -> None:
    """The detectors read only what the mail system sent: the same words from a person, sent
    with their own return path, are a mail to answer."""
    text = parse(sample("simple_02.txt")).text
    assert detect(sample("simple_02.txt")).failed == ("userx@example.net",)
    question = EmailMessage()
    question["From"] = "Alice <alice@customer.test>"
    question["To"] = "support@example.com"
    question["Subject"] = "What does this mean?"
    question.set_content(f"I got this back, what does it mean?\n\n{text}")
    raw = question.as_bytes()
    found = classify(parse(raw), "alice@customer.test", raw)
    assert found.kind is MailKind.NORMAL
    assert detect(raw).failed == ("userx@example.net",)  # what the detectors alone would say


def test_a_mail_the_detectors_trip_over_is_classified_all_the_same() -> None:
    """flufl.bounce's Yale detector raises on a mail without a From header."""
    raw = b"To: support@example.com\nSubject: hi\n\nNothing to see."
    assert not detect(raw)
    assert classify(parse(raw), "", raw).kind is MailKind.BULK  # the empty return path


def test_the_diagnostic_is_the_mta_s_own_words() -> None:
    text = "Hi.\n\n<gone@customer.test>:\n  550 5.1.1 <gone@customer.test>: user unknown\n"
    assert diagnostic("", text) == "550 5.1.1 <gone@customer.test>: user unknown"
    assert diagnostic("Diagnostic-Code: smtp; 552 mailbox full\n", text) == "smtp; 552 mailbox full"
    assert diagnostic("", "Sorry.") == "delivery failed"


def corpus_mails() -> list[Path]:
    notes = {".md", ".tsv"}
    return sorted(p for p in CORPORA.rglob("*") if p.is_file() and p.suffix not in notes)


def test_no_ordinary_mail_in_the_corpora_is_taken_for_a_bounce() -> None:
    """The 90-odd real mails of the corpora, each as sent by its author and as if it came with
    a null return path (so the detectors are asked): the detectors find no address in any, and
    none is a bounce but by the older rule on the sender's address (flanker's long-links.eml is
    from ``Bob <postmaster@example.com>``: a bounce that names nobody, so it marks nobody)."""
    files = corpus_mails()
    if not files:
        pytest.fail(f"no corpora at {CORPORA}")
    taken = []
    postmaster = set()
    for path in files:
        raw = path.read_bytes()
        mail = parse(raw)
        author = mail.sender.email if mail.sender else "corpus@sender.test"
        for envelope_from in (author, ""):
            found = classify(mail, envelope_from, raw)
            by_sender = found.reason.startswith("sent by ")
            if found.failures or detect(raw) or (found.kind is MailKind.BOUNCE and not by_sender):
                taken.append((path.relative_to(CORPORA), envelope_from, found.reason))
            elif found.kind is MailKind.BOUNCE:
                postmaster.add(path.relative_to(CORPORA).as_posix())
    assert len(files) >= 80
    assert taken == []
    assert postmaster == {"flanker/messages/long-links.eml"}
