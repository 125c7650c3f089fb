"""OAuth2 logins (XOAUTH2, OAUTHBEARER) against a real Dovecot whose oauth2 passdb asks a local
introspection endpoint about each token; the token comes from a command and is never logged."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from imapclient.exceptions import LoginError

from gateway.imap import ImapPoller
from gateway.imap_session import ImapOptions
from gateway.intake import Intake
from helpdesk.app.runtime import App
from tests.dovecot import USER, Dovecot
from tests.gateway.imap_support import customer_mail, running_dovecot, stored, wait_for
from tests.oauth_introspection import Introspection, TokenCommand

GOOD, STALE, NEXT = "ya29.good-7f3a9c1e", "ya29.stale-0b5d2e8f", "ya29.next-4c6a1f3b"


@pytest.fixture
def introspection() -> Iterator[Introspection]:
    running = Introspection().start()
    yield running
    running.stop()


@pytest.fixture
def dovecot(tmp_path: Path, introspection: Introspection) -> Iterator[Dovecot]:
    yield from running_dovecot(tmp_path / "dovecot", oauth_url=introspection.url)


def poller(
    dovecot: Dovecot, intake: Intake, app: App, tokens: TokenCommand, **options: object
) -> ImapPoller:
    chosen = ImapOptions(token_command=tokens.command, **options)  # type: ignore[arg-type]
    return ImapPoller(dovecot.folder_url("INBOX", password=False), intake, app.engine, chosen)


@pytest.mark.parametrize("mechanism", ["xoauth2", "oauthbearer"])
def test_a_token_from_the_command_logs_in(
    dovecot: Dovecot,
    introspection: Introspection,
    app: App,
    intake: Intake,
    tmp_path: Path,
    mechanism: str,
) -> None:
    introspection.good[GOOD] = USER
    tokens = TokenCommand(tmp_path / "oauth", GOOD)
    dovecot.append(customer_mail(1))
    assert poller(dovecot, intake, app, tokens, oauth_mechanism=mechanism).poll_once() == 1
    assert introspection.asked == [GOOD]
    assert len(stored(app)) == 1


def test_a_refused_token_is_fetched_again_and_never_logged(
    dovecot: Dovecot,
    introspection: Introspection,
    app: App,
    intake: Intake,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    introspection.good[NEXT] = USER  # STALE expired before its time
    tokens = TokenCommand(tmp_path / "oauth", STALE, NEXT)
    dovecot.append(customer_mail(1))
    with caplog.at_level(logging.DEBUG):  # IMAPClient's protocol log included
        assert poller(dovecot, intake, app, tokens).poll_once() == 1
    assert introspection.asked == [STALE, NEXT] and tokens.runs == 2
    assert "refused the token; fetching a new one" in caplog.text
    wire = [base64.b64encode(f"user={USER}\1auth=Bearer {t}\1\1".encode()) for t in (STALE, NEXT)]
    for secret in (STALE, NEXT, *(w.decode() for w in wire)):
        assert secret not in caplog.text


def test_a_token_is_fetched_again_after_its_lifetime(
    dovecot: Dovecot, introspection: Introspection, app: App, intake: Intake, tmp_path: Path
) -> None:
    introspection.good |= {GOOD: USER, NEXT: USER}
    tokens = TokenCommand(tmp_path / "oauth", GOOD, NEXT)
    short = poller(dovecot, intake, app, tokens, token_lifetime_seconds=0.001)
    assert short.poll_once() == 0
    assert short.poll_once() == 0
    assert introspection.asked == [GOOD, NEXT]
    long = poller(dovecot, intake, app, TokenCommand(tmp_path / "long", GOOD))
    assert long.poll_once() == 0 and long.poll_once() == 0
    assert introspection.asked[2:] == [GOOD, GOOD]  # the same token, fetched once


def test_a_token_revoked_while_running_is_replaced_at_the_reconnection(
    dovecot: Dovecot,
    introspection: Introspection,
    app: App,
    intake: Intake,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    introspection.good[GOOD] = USER
    tokens = TokenCommand(tmp_path / "oauth", GOOD, NEXT)
    running = poller(dovecot, intake, app, tokens, interval_seconds=600)
    with caplog.at_level(logging.INFO, logger="helpdesk.imap"):
        running.start()
        try:
            wait_for(lambda: "0 seen, 0 taken" in caplog.text)
            introspection.good = {NEXT: USER}  # GOOD has expired
            assert dovecot.drop_connections() >= 1
            dovecot.append(customer_mail(1))
            wait_for(lambda: len(stored(app)) == 1)
        finally:
            running.stop()
    assert introspection.asked == [GOOD, GOOD, NEXT]
    assert tokens.runs == 2


def test_a_command_without_a_token_fails_the_login_without_showing_its_arguments(
    dovecot: Dovecot, introspection: Introspection, app: App, intake: Intake, tmp_path: Path
) -> None:
    tokens = TokenCommand(tmp_path / "oauth")  # prints an empty line
    secret = "--client-secret=hunter2-0a1b2c"
    options = ImapOptions(token_command=f"{tokens.command} {secret}")
    broken = ImapPoller(dovecot.folder_url("INBOX", password=False), intake, app.engine, options)
    with pytest.raises(LoginError, match="without printing a token") as failure:
        broken.poll_once()
    assert "hunter2" not in str(failure.value)
    assert introspection.asked == []
