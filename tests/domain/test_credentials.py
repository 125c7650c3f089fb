"""Credentials in a mail: what is flagged, and the mail about passwords every helpdesk gets that
is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpdesk.domain.credentials import Scanned, credential_kinds, kinds_in, scanned
from helpdesk.domain.mail.parse import parse
from tests.helpers import CORPORA


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("password: hunter2", ("a password",)),
        ("Hi,\nmy login is x and pw y\nthanks", ("a password",)),
        ("Login: bob\nPassword: correcthorse", ("a password",)),
        ("pwd=abc", ("a password",)),
        ("my password is hunter2, please check", ("a password",)),
        ("The password is 'banana'.", ("a password",)),
        ("user bob / pass: s3cret", ("a password",)),
        ("Passwort: geheim123", ("a password",)),
        ("mot de passe : soleil", ("a password",)),
        ("PIN is 1234", ("a password",)),
        ("key id AKIAIOSFODNN7EXAMPLE", ("an access key or token",)),
        ("ghp_" + "a1B2" * 9, ("an access key or token",)),
        ("Authorization: Bearer " + "x9" * 16, ("an access key or token",)),
        ("-----BEGIN PRIVATE KEY-----\nMIIEvQ...", ("a private key",)),
        ("-----BEGIN OPENSSH PRIVATE KEY-----", ("a private key",)),
        ("-----BEGIN RSA PRIVATE KEY-----", ("a private key",)),
        ("it fails at https://bob:s3cret@db.example.com/x", ("a password in a URL",)),
        (
            "password: x1\n-----BEGIN EC PRIVATE KEY-----",
            ("a password", "a private key"),
        ),
    ],
)
def test_credentials_are_found(text: str, kinds: tuple[str, ...]) -> None:
    assert credential_kinds(text) == kinds


@pytest.mark.parametrize(
    "text",
    [
        "My password is not working",
        "The password reset link failed.",
        "Subject: Password: reset not working",
        "I forgot my password.",
        "my password is 8 characters long",
        "Password:\n",
        "Password: ********",  # they hid it themselves
        "run pwd then ls",
        "the user then pass it on",
        "my user account and password were compromised",
        "Where do I change my password? My login is bob@example.com.",
        "see https://example.com/login?next=/account",
        "AKIA is an abbreviation",
        "-----BEGIN PUBLIC KEY-----",
    ],
)
def test_mail_about_passwords_is_not_flagged(text: str) -> None:
    assert credential_kinds(text) == ()


def test_no_mail_of_the_corpora_is_flagged() -> None:
    """Real mail from several projects' test suites: not one of them gives a secret."""
    files = [p for p in CORPORA.rglob("*") if p.is_file() and p.suffix != ".md"]
    if not files:
        pytest.skip(f"no corpora at {CORPORA}")
    flagged = []
    for path in files:
        mail = parse(path.read_bytes())
        if credential_kinds(f"{mail.subject}\n{mail.text}"):
            flagged.append(Path(path).relative_to(CORPORA))
    assert flagged == []


def test_a_long_text_is_read_in_linear_time() -> None:
    text = "password is " * 20_000 + "login and " * 20_000 + "-----BEGIN " * 20_000
    assert credential_kinds(text) == ()


def test_a_look_worked_out_ahead_is_used_for_its_own_text_only() -> None:
    ahead = scanned("Login\npassword: hunter2")
    assert ahead.kinds == ("a password",)
    assert kinds_in("Login\npassword: hunter2", ahead) == ("a password",)
    stale = Scanned(ahead.digest, ())  # as if worked out for this text: it is taken as it is
    assert kinds_in("Login\npassword: hunter2", stale) == ()
    assert kinds_in("Login\npassword: hunter3", stale) == ("a password",)  # another text
    assert kinds_in("Login\npassword: hunter2", None) == ("a password",)
