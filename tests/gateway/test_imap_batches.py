"""How the IMAP poller fetches: batches bounded by bytes, mail gone meanwhile, mail too large,
a server without IDLE, MOVE or UIDPLUS, and the settings and backoff behind it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest
from imapclient import IMAPClient
from sqlalchemy import Engine

import gateway.imap
from gateway.imap import KEPT, TAKEN, ImapPoller
from gateway.imap_config import imap_options
from gateway.imap_session import Backoff, ImapOptions, batches, fetch_batch
from gateway.intake import Arrival, Intake, Receipt, Stored
from helpdesk.app.runtime import App
from helpdesk.app.settings import Settings
from helpdesk.domain.mail.headers import HeaderFacts
from helpdesk.domain.vocabulary import MailStatus
from tests.dovecot import Dovecot
from tests.gateway.imap_support import customer_mail, flags, running_dovecot, stored, wait_for
from tests.helpers import mail, tickets
from workers.processor import drain


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    yield from running_dovecot(tmp_path / "dovecot")


def test_batches_are_bounded_by_bytes_and_by_count() -> None:
    sizes = {1: 400, 2: 400, 3: 400, 4: 5000, 5: 100, 6: 100}
    assert list(batches([1, 2, 3, 4, 5, 6], sizes, 1000)) == [[1, 2], [3], [4], [5, 6]]
    assert list(batches([1, 2, 3], sizes, 10_000, count=2)) == [[1, 2], [3]]
    assert list(batches([], sizes, 1000)) == []


def test_a_fetch_holds_no_more_bytes_than_the_setting(
    dovecot: Dovecot, app: App, intake: Intake, monkeypatch: pytest.MonkeyPatch
) -> None:
    dovecot.append(*(customer_mail(n) for n in range(5)))
    size = len(customer_mail(0))
    fetched: list[list[int]] = []

    def recorded(client: IMAPClient, batch: list[int], large: set[int]) -> dict[int, bytes]:
        fetched.append(batch)
        return fetch_batch(client, batch, large)

    monkeypatch.setattr(gateway.imap, "fetch_batch", recorded)
    options = ImapOptions(fetch_bytes=size * 2 + size // 2)  # two mails, not three
    assert ImapPoller(dovecot.url, intake, app.engine, options).poll_once() == 5
    assert [len(batch) for batch in fetched] == [2, 2, 1]
    assert list(flags(dovecot).values()) == [{b"\\Seen", TAKEN}] * 5
    drain(app)
    assert len(tickets(app)) == 5


class MeddlingIntake(Intake):
    """A real intake; while the first mail is being stored, another client expunges the last."""

    def __init__(self, engine: Engine, dovecot: Dovecot) -> None:
        super().__init__(engine, window_seconds=0.001)
        self._dovecot = dovecot
        self._done = False

    def submit(self, arrival: Arrival, facts: HeaderFacts | None = None) -> Future[Receipt]:
        if not self._done:
            self._done = True
            with self._dovecot.client() as other:
                other.select_folder("INBOX")
                other.delete_messages(other.search(["ALL"])[-1:])
                other.expunge()
        return super().submit(arrival, facts)


def test_mail_expunged_by_another_client_mid_poll_is_passed_over(
    dovecot: Dovecot, app: App
) -> None:
    dovecot.append(*(customer_mail(n) for n in range(3)))
    meddling = MeddlingIntake(app.engine, dovecot)
    meddling.start()
    try:
        assert (
            ImapPoller(dovecot.url, meddling, app.engine, ImapOptions(fetch_bytes=1)).poll_once()
            == 2
        )
    finally:
        meddling.stop()
    assert list(flags(dovecot).values()) == [{b"\\Seen", TAKEN}] * 2
    assert [m.from_address for m in stored(app)] == [
        "customer0@customer.test",
        "customer1@customer.test",
    ]


def test_mail_over_the_size_limit_stays_in_the_folder_and_is_quarantined_with_the_reason(
    dovecot: Dovecot, app: App, intake: Intake
) -> None:
    big = mail(subject="Huge scan", body="x" * 6000).as_bytes()
    dovecot.append(customer_mail(1), big)
    poller = ImapPoller(dovecot.url, intake, app.engine, ImapOptions(max_message_bytes=4000))
    assert poller.poll_once() == 2
    assert list(flags(dovecot).values()) == [{b"\\Seen", TAKEN}, {KEPT}]
    assert (
        ImapPoller(dovecot.url, intake, app.engine, ImapOptions(max_message_bytes=4000)).poll_once()
        == 0
    )
    drain(app)
    assert [t.subject for t in tickets(app)] == ["Problem number 1"]
    quarantined = [m for m in stored(app) if m.status is MailStatus.QUARANTINED]
    assert len(quarantined) == 1 and quarantined[0].reason.startswith("too large: ")
    assert "over the limit of 4000" in quarantined[0].reason and "INBOX" in quarantined[0].reason
    assert quarantined[0].size < 2000  # its header only


def test_a_sender_cannot_quarantine_a_mail_by_writing_the_pollers_note(
    app: App, intake: Intake
) -> None:
    forged = b"X-Helpdesk-Too-Large: 1 bytes\r\n" + customer_mail(2)
    arrival = Arrival(forged, "customer2@customer.test", ("support@example.com",), "imap")
    assert intake.submit(arrival).result(timeout=30).stored is Stored.NEW
    drain(app)
    assert [t.subject for t in tickets(app)] == ["Problem number 2"]


def test_backoff_doubles_with_jitter_up_to_its_cap_and_starts_again_after_a_success() -> None:
    backoff = Backoff(first=1.0, cap=8.0)
    delays = [backoff.next() for _ in range(6)]
    for delay, full in zip(delays, [1, 2, 4, 8, 8, 8], strict=True):
        assert full / 2 <= delay <= full
    assert len({round(d, 6) for d in delays[3:]}) > 1  # jitter: not all at the same moment
    backoff.reset()
    assert 0.5 <= backoff.next() <= 1.0


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"imap_done": "archive"}, "HELPDESK_IMAP_DONE must be"),
        ({"imap_done": "move:"}, "needs the folder"),
        ({"imap_oauth": "plain"}, "HELPDESK_IMAP_OAUTH must be"),
        ({"imap_token_lifetime": "soon"}, "HELPDESK_IMAP_TOKEN_LIFETIME"),
        ({"imap_fetch_bytes": 0}, "HELPDESK_IMAP_FETCH_BYTES"),
    ],
)
def test_a_setting_that_cannot_work_is_said_in_words(
    changes: dict[str, object], problem: str
) -> None:
    settings = Settings(imap_url="imaps://help@imap.example.com/INBOX").model_copy(update=changes)
    with pytest.raises(ValueError, match=problem):
        imap_options(settings)


def test_the_settings_reach_the_poller() -> None:
    settings = Settings(
        imap_done=" move:Done ",
        imap_oauth="OAUTHBEARER",
        imap_token_lifetime="1h",
        imap_fetch_bytes=1000,
        max_message_bytes=5000,
    )
    options = imap_options(settings)
    assert (options.done, options.oauth_mechanism) == ("move:Done", "oauthbearer")
    assert (options.token_lifetime_seconds, options.fetch_bytes) == (3600, 1000)
    assert options.max_message_bytes == 5000


@pytest.fixture
def plain_dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    """A server that announces no IDLE, no MOVE and no UIDPLUS."""
    yield from running_dovecot(tmp_path / "plain", capabilities="IMAP4rev1")


def test_without_idle_the_thread_polls_and_logs_each_poll(
    plain_dovecot: Dovecot, app: App, intake: Intake, caplog: pytest.LogCaptureFixture
) -> None:
    options = ImapOptions(interval_seconds=0.2, done="move:Taken")
    poller = ImapPoller(plain_dovecot.url, intake, app.engine, options)
    with caplog.at_level(logging.INFO, logger="helpdesk.imap"):
        poller.start()
        try:
            wait_for(lambda: caplog.text.count("0 seen, 0 taken") >= 2)  # a look, a pause, a look
            plain_dovecot.append(customer_mail(1), customer_mail(2))
            wait_for(lambda: "2 seen, 2 taken" in caplog.text)
        finally:
            poller.stop()
    assert plain_dovecot.uids() == []  # moved by COPY, then deleted and expunged
    assert len(plain_dovecot.uids("Taken")) == 2
    assert len(stored(app)) == 2
