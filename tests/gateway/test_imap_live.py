"""The IMAP poller's thread against a real Dovecot: IDLE, a restart mid-way, a connection that
drops, a server that goes away, a folder recreated under a new UIDVALIDITY."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest
from imapclient import IMAPClient
from sqlalchemy import Engine

from gateway.imap import TAKEN, ImapPoller
from gateway.imap_idle import idle_begin, idle_end
from gateway.imap_session import ImapOptions
from gateway.intake import Arrival, Intake, Receipt
from helpdesk.app.runtime import App
from helpdesk.domain.mail.headers import HeaderFacts
from storage import imap_state
from storage.imap_state import Place
from tests.dovecot import Dovecot
from tests.gateway.imap_support import customer_mail, flags, running_dovecot, stored, wait_for
from tests.helpers import tickets
from workers.processor import drain

NO_POLLING = ImapOptions(interval_seconds=600)  # what comes, comes by IDLE


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    yield from running_dovecot(tmp_path / "dovecot")


class CountingIntake(Intake):
    """A real intake that remembers the subject of every mail handed to it, and can ask the
    poller to stop after ``stop_after`` of them (a restart half-way)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, window_seconds=0.001)
        self.subjects: list[str] = []
        self.poller: ImapPoller | None = None
        self.stop_after = 0

    def submit(self, arrival: Arrival, facts: HeaderFacts | None = None) -> Future[Receipt]:
        assert isinstance(arrival.raw, bytes)  # the poller hands over what it fetched
        subject = arrival.raw.split(b"Subject: ", 1)[1].split(b"\n", 1)[0].strip()
        self.subjects.append(subject.decode())
        if self.poller is not None and len(self.subjects) == self.stop_after:
            self.poller.stop()  # as a SIGTERM to serve would
        return super().submit(arrival, facts)


@pytest.fixture
def counting(app: App) -> Iterator[CountingIntake]:
    running = CountingIntake(app.engine)
    running.start()
    yield running
    running.stop()


def holds(app: App, count: int) -> Callable[[], bool]:
    return lambda: len(stored(app)) == count


def place(dovecot: Dovecot, folder: str = "INBOX") -> str:
    return f"helpdesk@127.0.0.1:{dovecot.port}/{folder}"


def idle_poller(
    dovecot: Dovecot, intake: Intake, app: App, caplog: pytest.LogCaptureFixture
) -> ImapPoller:
    """A started poller, past its first poll and waiting in IDLE."""
    poller = ImapPoller(dovecot.url, intake, app.engine, NO_POLLING)
    poller.start()
    wait_for(lambda: "0 seen, 0 taken" in caplog.text)
    time.sleep(0.3)  # the IDLE command is on its way
    return poller


def test_idle_takes_a_new_mail_within_a_second(
    dovecot: Dovecot, app: App, intake: Intake, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="helpdesk.imap"):
        poller = idle_poller(dovecot, intake, app, caplog)
        try:
            for n in range(2):  # and again, once back in IDLE
                sent = time.monotonic()
                dovecot.append(customer_mail(n))
                wait_for(holds(app, n + 1), timeout=10)
                assert time.monotonic() - sent < 1.0
        finally:
            started = time.monotonic()
            poller.stop()
    assert time.monotonic() - started < 5
    assert list(flags(dovecot).values()) == [{b"\\Seen", TAKEN}] * 2


def test_a_restart_mid_way_neither_repeats_nor_skips(
    dovecot: Dovecot, app: App, counting: CountingIntake
) -> None:
    dovecot.append(*(customer_mail(n) for n in range(6)))
    first = ImapPoller(dovecot.url, counting, app.engine, ImapOptions(fetch_bytes=1))
    counting.poller, counting.stop_after = first, 3
    assert first.poll_once() == 3  # stopped after its third batch, the rest left for later
    assert imap_state.load(app.engine, place(dovecot)) == Place(first_validity(dovecot), 3)
    # The worst moment to stop: mails 2 and 3 flagged, but their place not written yet.
    imap_state.save(app.engine, place(dovecot), Place(first_validity(dovecot), 1))
    dovecot.append(customer_mail(6))  # and one came while it was down
    counting.poller = None
    again = ImapPoller(dovecot.url, counting, app.engine, ImapOptions(fetch_bytes=1))
    assert again.poll_once() == 4
    assert counting.subjects == [f"Problem number {n}" for n in range(7)]  # each once, in order
    assert list(flags(dovecot).values()) == [{b"\\Seen", TAKEN}] * 7
    drain(app)
    assert len(stored(app)) == 7 and len(tickets(app)) == 7


def first_validity(dovecot: Dovecot, folder: str = "INBOX") -> int:
    with dovecot.client() as client:
        return int(client.select_folder(folder, readonly=True)[b"UIDVALIDITY"])


def test_a_dropped_connection_is_noticed_in_idle_and_made_again(
    dovecot: Dovecot, app: App, intake: Intake, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="helpdesk.imap"):
        poller = idle_poller(dovecot, intake, app, caplog)
        try:
            assert dovecot.drop_connections() >= 1  # no BYE: the socket just closes
            wait_for(lambda: "closed the connection" in caplog.text, timeout=10)
            dovecot.append(customer_mail(1))
            wait_for(lambda: len(stored(app)) == 1, timeout=15)
        finally:
            poller.stop()
    assert list(flags(dovecot).values()) == [{b"\\Seen", TAKEN}]


def test_a_server_away_changes_nothing_and_the_thread_tries_again(
    dovecot: Dovecot, app: App, intake: Intake, caplog: pytest.LogCaptureFixture
) -> None:
    dovecot.append(customer_mail(1))
    dovecot.halt()
    poller = ImapPoller(dovecot.url, intake, app.engine, ImapOptions(interval_seconds=0.05))
    with pytest.raises(OSError):
        poller.poll_once()
    with caplog.at_level(logging.WARNING, logger="helpdesk.imap"):
        poller.start()
        try:
            wait_for(lambda: "failed" in caplog.text and "again in" in caplog.text)
            dovecot.start()  # back on the same port, with the same mail
            wait_for(lambda: len(stored(app)) == 1)
        finally:
            poller.stop()
    assert list(flags(dovecot).values()) == [{b"\\Seen", TAKEN}]
    drain(app)
    assert len(tickets(app)) == 1


def test_a_folder_recreated_under_a_new_uidvalidity_is_taken_again_without_repeats(
    dovecot: Dovecot, app: App, intake: Intake, caplog: pytest.LogCaptureFixture
) -> None:
    with dovecot.client() as client:
        client.create_folder("Support")
    dovecot.append(customer_mail(1), customer_mail(2), folder="Support")
    url = dovecot.folder_url("Support")
    assert ImapPoller(url, intake, app.engine).poll_once() == 2
    before = first_validity(dovecot, "Support")
    with dovecot.client() as client:  # restored from a backup, say: same mails, new UIDs
        client.delete_folder("Support")
        client.create_folder("Support")
    dovecot.append(customer_mail(1), customer_mail(2), customer_mail(3), folder="Support")
    after = first_validity(dovecot, "Support")
    assert after != before
    with caplog.at_level(logging.WARNING, logger="helpdesk.imap"):
        assert ImapPoller(url, intake, app.engine).poll_once() == 3
    assert "UIDVALIDITY changed" in caplog.text
    assert imap_state.load(app.engine, place(dovecot, "Support")) == Place(after, 3)
    drain(app)
    assert len(stored(app)) == 3  # the first two are known by their Message-ID
    assert sorted(t.subject for t in tickets(app)) == [f"Problem number {n}" for n in (1, 2, 3)]


class LandingPoller(ImapPoller):
    """A poller that puts ``landing`` in the folder just as it enters IDLE, after the select
    that found nothing new: Dovecot tells of it in the same packet as IDLE's ``+ idling``."""

    def __init__(
        self, dovecot: Dovecot, intake: Intake, engine: Engine, options: ImapOptions = NO_POLLING
    ) -> None:
        super().__init__(dovecot.url, intake, engine, options)
        self.dovecot = dovecot
        self.landing: list[bytes] = []
        self.idles = 0

    def _idle(self, client: IMAPClient) -> None:
        self.idles += 1
        if self.landing:
            self.dovecot.append(self.landing.pop())
        super()._idle(client)


def test_a_mail_landing_as_the_poller_enters_idle_is_taken_at_once(
    dovecot: Dovecot, app: App, intake: Intake, caplog: pytest.LogCaptureFixture
) -> None:
    poller = LandingPoller(dovecot, intake, app.engine)
    poller.landing = [customer_mail(2), customer_mail(1)]  # at the first IDLE, then the next
    with caplog.at_level(logging.INFO, logger="helpdesk.imap"):
        poller.start()
        try:
            wait_for(holds(app, 2), timeout=10)  # not at the IDLE's renewal, minutes later
        finally:
            poller.stop()
    assert "failed" not in caplog.text
    assert list(flags(dovecot).values()) == [{b"\\Seen", TAKEN}] * 2


def test_idle_is_renewed_and_still_hears_of_new_mail(
    dovecot: Dovecot, app: App, intake: Intake, caplog: pytest.LogCaptureFixture
) -> None:
    poller = LandingPoller(dovecot, intake, app.engine, ImapOptions(idle_seconds=0.2))
    with caplog.at_level(logging.INFO, logger="helpdesk.imap"):
        poller.start()
        try:
            wait_for(lambda: poller.idles >= 4)  # DONE, select, IDLE again, on one connection
            dovecot.append(customer_mail(1))
            wait_for(holds(app, 1), timeout=10)
        finally:
            poller.stop()
    assert "failed" not in caplog.text


def test_idle_begins_past_mail_told_of_before_its_continuation(dovecot: Dovecot) -> None:
    """A server may send ``* N EXISTS`` before IDLE's ``+`` (here the answer to a NOOP sent
    just before, not read yet): IMAPClient's ``idle`` failed on it, and the poller reconnected."""
    with dovecot.client() as client:
        client.select_folder("INBOX")
        dovecot.append(customer_mail(1))
        client._imap._command("NOOP")
        tag, early = idle_begin(client)
        idle_end(client, tag)
        assert client.noop()[0].startswith(b"NOOP completed")  # the session goes on
    assert b"* 1 EXISTS" in early
