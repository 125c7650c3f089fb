"""The IMAP poller against a real Dovecot: mail is committed before it leaves the folder."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from gateway.imap import KEPT, ImapPoller, envelope_of
from gateway.intake import Arrival, Intake, Receipt, Stored
from helpdesk.app.runtime import App
from helpdesk.domain.mail.headers import HeaderFacts
from helpdesk.domain.vocabulary import MailStatus
from storage import spool
from storage.db import make_engine
from storage.models import InboundMail
from tests.dovecot import Dovecot, DovecotUnavailable
from tests.fixtures import unavailable
from tests.helpers import GatewayThread, mail, tickets
from workers.processor import drain


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    server = Dovecot(tmp_path / "dovecot")
    try:
        try:
            server.start()
        except DovecotUnavailable as exc:
            unavailable("Dovecot", exc)
        yield server
    finally:
        server.stop()


def stored(app: App) -> list[InboundMail]:
    spool.move(app.engine)
    with app.sessions() as session:
        return list(session.scalars(select(InboundMail).order_by(InboundMail.id)))


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {timeout}s")
        time.sleep(0.05)


def customer_mail(n: int) -> bytes:
    return mail(
        sender=f"Customer {n} <customer{n}@customer.test>",
        subject=f"Problem number {n}",
        body=f"Hello, problem {n} needs your attention.",
    ).as_bytes()


def test_every_mail_becomes_a_ticket_and_leaves_the_folder(
    dovecot: Dovecot, app: App, intake: Intake
) -> None:
    dovecot.append(*(customer_mail(n) for n in range(3)))
    poller = ImapPoller(dovecot.url, intake, 60)
    assert poller.poll_once() == 3
    assert dovecot.uids() == []
    drain(app)
    assert sorted(t.subject for t in tickets(app)) == [f"Problem number {n}" for n in range(3)]
    assert {(m.source, m.peer) for m in stored(app)} == {("imap", "127.0.0.1")}
    assert poller.poll_once() == 0
    assert len(stored(app)) == 3


def test_more_mail_than_one_fetch_batch(
    dovecot: Dovecot, app: App, intake: Intake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("gateway.imap.FETCH_BATCH", 2)
    dovecot.append(*(customer_mail(n) for n in range(5)))
    assert ImapPoller(dovecot.url, intake, 60).poll_once() == 5
    assert dovecot.uids() == []
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


def test_mail_expunged_by_another_client_mid_poll_is_skipped(
    dovecot: Dovecot, app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("gateway.imap.FETCH_BATCH", 1)
    dovecot.append(*(customer_mail(n) for n in range(3)))
    meddling = MeddlingIntake(app.engine, dovecot)
    meddling.start()
    try:
        assert ImapPoller(dovecot.url, meddling, 60).poll_once() == 2
    finally:
        meddling.stop()
    assert dovecot.uids() == []
    assert [m.from_address for m in stored(app)] == [
        "customer0@customer.test",
        "customer1@customer.test",
    ]


def test_a_stopping_poller_takes_nothing(dovecot: Dovecot, intake: Intake) -> None:
    dovecot.append(customer_mail(1))
    poller = ImapPoller(dovecot.url, intake, 60)
    poller.stop()  # never started: nothing to join
    assert poller.poll_once() == 0
    assert len(dovecot.uids()) == 1


def test_same_message_id_twice_gives_one_ticket(dovecot: Dovecot, app: App, intake: Intake) -> None:
    message = mail(message_id="<twice@customer.test>").as_bytes()
    dovecot.append(message, message)
    assert ImapPoller(dovecot.url, intake, 60).poll_once() == 2
    assert dovecot.uids() == []
    drain(app)
    assert len(stored(app)) == 1
    assert len(tickets(app)) == 1


def test_envelope_comes_from_delivery_headers(dovecot: Dovecot, app: App, intake: Intake) -> None:
    delivered = (
        b"Return-Path: <bounces+alice@customer.test>\r\n"
        b"Delivered-To: support@example.com\r\n"
        b"X-Original-To: Help@Example.com\r\n" + customer_mail(1)
    )
    dovecot.append(delivered, customer_mail(2))
    assert ImapPoller(dovecot.url, intake, 60).poll_once() == 2
    first, second = stored(app)
    assert first.envelope_from == "bounces+alice@customer.test"
    assert first.envelope_to == ["support@example.com", "help@example.com"]
    assert (second.envelope_from, second.envelope_to) == ("customer2@customer.test", [])
    drain(app)
    assert len(tickets(app)) == 2


def test_envelope_of_reads_only_the_header_block() -> None:
    raw = (
        b"From: Alice <alice@customer.test>\r\n"
        b"Return-Path: <>\r\n"
        b"Delivered-To: SUPPORT@example.com\r\n"
        b"Delivered-To: support@example.com\r\n"
        b" (by mx.example.com; Delivered-To: folded@example.com)\r\n"
        b"\r\n"
        b"Delivered-To: body@example.com\r\n"
    )
    assert envelope_of(raw) == ("", ("support@example.com",))
    assert envelope_of(b"From: alice@customer.test\n\nhi\n") == ("alice@customer.test", ())


def test_mail_committed_before_a_crash_is_not_stored_twice(
    dovecot: Dovecot, app: App, intake: Intake
) -> None:
    raw = customer_mail(1)
    sender, rcpts = envelope_of(raw)
    first = intake.submit(Arrival(raw, sender, rcpts, source="imap")).result(timeout=30)
    assert first.stored is Stored.NEW
    dovecot.append(raw)  # the crash came after the commit, before the delete
    assert ImapPoller(dovecot.url, intake, 60).poll_once() == 1
    assert dovecot.uids() == []
    drain(app)
    assert len(stored(app)) == 1
    assert len(tickets(app)) == 1


def test_failed_store_deletes_nothing(dovecot: Dovecot, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'helpdesk.db'}")
    broken = Intake(engine)
    spooled = spool.spool_for(engine)
    assert spooled is not None
    spool.spooled_mails.drop(spooled)  # the disk the intake writes to is gone
    broken.start()
    try:
        dovecot.append(customer_mail(1), customer_mail(2))
        with pytest.raises(RuntimeError, match="storage failed"):
            ImapPoller(dovecot.url, broken, 60).poll_once()
    finally:
        broken.stop()
        spool.release(engine)
        engine.dispose()
    assert len(dovecot.uids()) == 2
    with dovecot.client() as client:
        client.select_folder("INBOX", readonly=True)
        assert client.search(["DELETED"]) == []


def test_server_away_deletes_nothing_and_the_thread_retries(
    dovecot: Dovecot, app: App, intake: Intake, caplog: pytest.LogCaptureFixture
) -> None:
    dovecot.append(customer_mail(1))
    dovecot.halt()
    poller = ImapPoller(dovecot.url, intake, 0.05)
    with pytest.raises(OSError):
        poller.poll_once()
    with caplog.at_level(logging.WARNING, logger="helpdesk.imap"):
        poller.start()
        try:
            wait_for(lambda: "IMAP poll failed" in caplog.text)
            dovecot.start()  # back on the same port, with the same mail
            wait_for(lambda: len(stored(app)) == 1)
        finally:
            poller.stop()
    assert dovecot.uids() == []
    drain(app)
    assert len(tickets(app)) == 1


def test_background_thread_takes_new_mail(dovecot: Dovecot, app: App, intake: Intake) -> None:
    poller = ImapPoller(dovecot.url, intake, 0.05)
    poller.start()
    try:
        dovecot.append(customer_mail(1))
        wait_for(lambda: len(stored(app)) == 1 and dovecot.uids() == [])
    finally:
        started = time.monotonic()
        poller.stop()
    assert time.monotonic() - started < 5
    drain(app)
    assert len(tickets(app)) == 1


def test_serve_starts_the_poller_when_configured(dovecot: Dovecot, app: App) -> None:
    settings = app.settings.model_copy(update={"imap_url": dovecot.url, "imap_poll_seconds": 0.05})
    running = GatewayThread(App(settings, app.engine, app.sessions, app.secret))
    running.start()
    try:
        dovecot.append(customer_mail(1))
        wait_for(lambda: len(tickets(app)) == 1)
        assert dovecot.uids() == []
    finally:
        running.stop()
    [mail_row] = stored(app)
    assert mail_row.source == "imap"


def test_mail_over_the_size_limit_stays_in_the_folder_and_is_quarantined_with_the_reason(
    dovecot: Dovecot, app: App, intake: Intake
) -> None:
    big = mail(subject="Huge scan", body="x" * 6000).as_bytes()
    dovecot.append(customer_mail(1), big)
    poller = ImapPoller(dovecot.url, intake, 60, max_message_bytes=4000)
    assert poller.poll_once() == 2
    [kept] = dovecot.uids()  # the big one: its bytes are not ours to drop
    with dovecot.client() as client:
        client.select_folder("INBOX")
        assert KEPT in client.get_flags([kept])[kept]
    assert poller.poll_once() == 0  # passed over from now on, not stored again
    drain(app)
    assert [t.subject for t in tickets(app)] == ["Problem number 1"]
    quarantined = [m for m in stored(app) if m.status is MailStatus.QUARANTINED]
    assert len(quarantined) == 1 and quarantined[0].reason.startswith("too large: ")
    assert "over the limit of 4000" in quarantined[0].reason and "INBOX" in quarantined[0].reason


def test_a_sender_cannot_quarantine_a_mail_by_writing_the_pollers_note(
    app: App, intake: Intake
) -> None:
    forged = b"X-Helpdesk-Too-Large: 1 bytes\r\n" + customer_mail(2)
    arrival = Arrival(forged, "customer2@customer.test", ("support@example.com",), "imap")
    assert intake.submit(arrival).result(timeout=30).stored is Stored.NEW
    drain(app)
    assert [t.subject for t in tickets(app)] == ["Problem number 2"]


def test_the_envelope_of_a_delivered_mail_reads_folded_fields() -> None:
    raw = b"Return-Path:\r\n <bounce@sender.test>\r\nDelivered-To:\r\n Support@Example.com\r\n\r\n"
    assert envelope_of(raw) == ("bounce@sender.test", ("support@example.com",))
