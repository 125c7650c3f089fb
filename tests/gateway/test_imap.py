"""The IMAP poller against a real Dovecot: mail is committed before it is flagged, moved or
deleted, each mail is taken once by its UID, and ``serve`` runs one poller per mailbox."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.imap import TAKEN, ImapPoller, envelope_of
from gateway.imap_session import ImapOptions
from gateway.intake import Arrival, Intake, Stored
from helpdesk.app.runtime import App
from storage import imap_state, spool
from storage.db import make_engine
from tests.dovecot import Dovecot
from tests.gateway.imap_support import customer_mail, flags, running_dovecot, stored, wait_for
from tests.helpers import GatewayThread, mail, tickets
from workers.processor import drain


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    yield from running_dovecot(tmp_path / "dovecot")


def test_every_mail_becomes_a_ticket_and_is_flagged_where_it_is(
    dovecot: Dovecot, app: App, intake: Intake, caplog: pytest.LogCaptureFixture
) -> None:
    dovecot.append(*(customer_mail(n) for n in range(3)))
    poller = ImapPoller(dovecot.url, intake, app.engine)
    with caplog.at_level(logging.INFO, logger="helpdesk.imap"):
        assert poller.poll_once() == 3
        assert poller.poll_once() == 0  # by its UID: nothing is taken twice
    assert "INBOX: 3 seen, 3 taken" in caplog.text and "INBOX: 0 seen, 0 taken" in caplog.text
    assert list(flags(dovecot).values()) == [{b"\\Seen", TAKEN}] * 3
    drain(app)
    assert sorted(t.subject for t in tickets(app)) == [f"Problem number {n}" for n in range(3)]
    assert {(m.source, m.peer) for m in stored(app)} == {("imap", "127.0.0.1")}
    assert len(stored(app)) == 3


def test_taken_mail_can_be_moved_to_a_folder(dovecot: Dovecot, app: App, intake: Intake) -> None:
    dovecot.append(customer_mail(1), customer_mail(2))
    options = ImapOptions(done="move:Taken")
    assert ImapPoller(dovecot.url, intake, app.engine, options).poll_once() == 2
    assert dovecot.uids() == []
    assert len(dovecot.uids("Taken")) == 2
    dovecot.append(customer_mail(3))
    assert ImapPoller(dovecot.url, intake, app.engine, options).poll_once() == 1
    assert len(dovecot.uids("Taken")) == 3
    assert len(stored(app)) == 3


def test_taken_mail_can_be_deleted(dovecot: Dovecot, app: App, intake: Intake) -> None:
    dovecot.append(customer_mail(1), customer_mail(2))
    options = ImapOptions(done="delete")
    assert ImapPoller(dovecot.url, intake, app.engine, options).poll_once() == 2
    assert dovecot.uids() == []
    assert len(stored(app)) == 2


def test_mail_a_reader_marked_seen_is_still_taken(
    dovecot: Dovecot, app: App, intake: Intake
) -> None:
    dovecot.append(customer_mail(1))
    with dovecot.client() as client:
        client.select_folder("INBOX")
        client.add_flags(client.search(["ALL"]), [b"\\Seen"])
    assert ImapPoller(dovecot.url, intake, app.engine).poll_once() == 1


def test_a_stopping_poller_takes_nothing(dovecot: Dovecot, app: App, intake: Intake) -> None:
    dovecot.append(customer_mail(1))
    poller = ImapPoller(dovecot.url, intake, app.engine)
    poller.stop()  # never started: nothing to join
    assert poller.poll_once() == 0
    assert list(flags(dovecot).values()) == [set()]


def test_same_message_id_twice_gives_one_ticket(dovecot: Dovecot, app: App, intake: Intake) -> None:
    message = mail(message_id="<twice@customer.test>").as_bytes()
    dovecot.append(message, message)
    assert ImapPoller(dovecot.url, intake, app.engine).poll_once() == 2
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
    assert ImapPoller(dovecot.url, intake, app.engine).poll_once() == 2
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


def test_the_envelope_of_a_delivered_mail_reads_folded_fields() -> None:
    raw = b"Return-Path:\r\n <bounce@sender.test>\r\nDelivered-To:\r\n Support@Example.com\r\n\r\n"
    assert envelope_of(raw) == ("bounce@sender.test", ("support@example.com",))


def test_mail_committed_before_a_crash_is_not_stored_twice(
    dovecot: Dovecot, app: App, intake: Intake
) -> None:
    raw = customer_mail(1)
    sender, rcpts = envelope_of(raw)
    first = intake.submit(Arrival(raw, sender, rcpts, source="imap")).result(timeout=30)
    assert first.stored is Stored.NEW
    dovecot.append(raw)  # the crash came after the commit, before the flags
    assert ImapPoller(dovecot.url, intake, app.engine).poll_once() == 1
    assert list(flags(dovecot).values()) == [{b"\\Seen", TAKEN}]
    drain(app)
    assert len(stored(app)) == 1
    assert len(tickets(app)) == 1


def test_failed_store_flags_nothing_and_keeps_the_place(
    dovecot: Dovecot, app: App, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'helpdesk.db'}")
    broken = Intake(engine)
    spooled = spool.spool_for(engine)
    assert spooled is not None
    spool.spooled_mails.drop(spooled)  # the disk the intake writes to is gone
    broken.start()
    try:
        dovecot.append(customer_mail(1), customer_mail(2))
        with pytest.raises(RuntimeError, match="storage failed"):
            ImapPoller(dovecot.url, broken, app.engine).poll_once()
    finally:
        broken.stop()
        spool.release(engine)
        engine.dispose()
    assert list(flags(dovecot).values()) == [set(), set()]
    assert imap_state.load(app.engine, f"helpdesk@127.0.0.1:{dovecot.port}/INBOX") is None
    intake = Intake(app.engine)  # the storage is back: the same mails are taken
    intake.start()
    try:
        assert ImapPoller(dovecot.url, intake, app.engine).poll_once() == 2
    finally:
        intake.stop()


def test_serve_runs_one_poller_per_mailbox(dovecot: Dovecot, app: App) -> None:
    with dovecot.client() as client:
        client.create_folder("Billing")
    urls = f"{dovecot.url}, {dovecot.folder_url('Billing')}"
    settings = app.settings.model_copy(update={"imap_url": urls, "imap_poll_seconds": 0.05})
    dovecot.append(customer_mail(1))  # in the folders before serve starts
    dovecot.append(customer_mail(2), folder="Billing")
    running = GatewayThread(App(settings, app.engine, app.sessions, app.secret))
    running.start()
    try:
        wait_for(lambda: len(tickets(app)) == 2)
        dovecot.append(customer_mail(3))  # in IDLE by now, or entering it
        dovecot.append(customer_mail(4), folder="Billing")
        wait_for(lambda: len(tickets(app)) == 4, timeout=10)  # not at the IDLE's renewal
    finally:
        running.stop()
    assert {m.source for m in stored(app)} == {"imap"}
    assert list(flags(dovecot, "Billing").values()) == [{b"\\Seen", TAKEN}] * 2
    places = [f"helpdesk@127.0.0.1:{dovecot.port}/{folder}" for folder in ("INBOX", "Billing")]
    assert all(imap_state.load(app.engine, place) is not None for place in places)
