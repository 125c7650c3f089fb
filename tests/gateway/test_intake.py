"""The intake's group commit: a client that stops waiting loses nothing and blocks nobody."""

from __future__ import annotations

import asyncio
import hashlib
import re
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parseaddr
from pathlib import Path

from gateway.intake import Arrival, Intake, Stored, facts_of
from helpdesk.app.runtime import App
from helpdesk.domain.mail.headers import HeaderFacts, dedupe_key, header_block, header_facts
from storage.raw_file import RawFile, dedupe_key_of_file
from tests.helpers import CORPORA, mail


def arrival(number: int) -> Arrival:
    raw = mail(subject=f"Mail {number}", message_id=f"<m{number}@customer.test>").as_bytes()
    return Arrival(raw, "alice@customer.test", ("support@example.com",), source="test")


def test_a_waiter_that_gave_up_does_not_stop_the_writer_thread(app: App) -> None:
    writer = Intake(app.engine, window_seconds=0.3)  # the first mail waits for company
    writer.start()
    try:
        first = writer.submit(arrival(1))
        assert first.cancel()  # the client hung up before its 250
        assert writer.submit(arrival(2)).result(timeout=30).stored is Stored.NEW
        assert writer.submit(arrival(1)).result(timeout=30).stored is Stored.DUPLICATE
    finally:
        writer.stop()


def test_a_connection_dropped_before_its_250_leaves_the_mail_stored(intake: Intake) -> None:
    """Through ``accept``, what the SMTP edge awaits: on SQLite committed by the event loop."""

    async def scenario() -> tuple[Stored, Stored]:
        dropped = asyncio.create_task(intake.accept(arrival(1)))
        await asyncio.sleep(0)  # the first mail is gathered for this turn's commit
        dropped.cancel()
        second = await intake.accept(arrival(2))
        again = await intake.accept(arrival(1))
        return second.stored, again.stored

    assert asyncio.run(scenario()) == (Stored.NEW, Stored.DUPLICATE)


def read_by_the_email_package(raw: bytes) -> HeaderFacts:
    """What the edge's field scan must agree with: the stdlib parser on the header block."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(header_block(raw))

    def field(name: str) -> str:
        return re.sub(r"\r?\n(?=[ \t])", "", str(headers.get(name, "")))

    message_id = field("message-id").strip()[:998]
    return HeaderFacts(message_id, parseaddr(field("from"))[1].strip().lower()[:320])


def test_the_edge_reads_message_id_and_from_as_the_email_package_does() -> None:
    compared = 0
    for path in sorted(p for p in CORPORA.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        if not raw.isascii():  # the email package turns such bytes into "?"; the edge keeps UTF-8
            continue
        assert header_facts(raw) == read_by_the_email_package(raw), path
        compared += 1
    assert compared > 50
    folded = b"Message-ID:\r\n <a.b@example.com>\r\nFROM: Alice\r\n\t<Alice@Example.com>\r\n\r\nx"
    assert header_facts(folded) == HeaderFacts("<a.b@example.com>", "alice@example.com")
    body_only = b"Subject: hi\r\n\r\nFrom: mallory@example.com\r\n"
    assert header_facts(body_only) == HeaderFacts("", "")
    assert (
        header_facts("From: Jörg <jörg@exämple.de>\n\n".encode()).from_address == "jörg@exämple.de"
    )


def test_a_mail_in_a_file_has_the_key_of_the_same_bytes_in_memory(tmp_path: Path) -> None:
    for message_id in ("<keyed@customer.test>", None):
        message = mail(message_id=message_id or "<x@y>")
        if message_id is None:
            del message["Message-ID"]
        raw = message.as_bytes()
        path = tmp_path / "mail.eml"
        path.write_bytes(raw)
        facts = header_facts(raw)
        file = RawFile(path, len(raw), hashlib.sha256(raw).digest(), header_block(raw))
        assert facts_of(file) == facts
        assert dedupe_key_of_file(facts, "Alice@customer.test", file) == dedupe_key(
            facts, "Alice@customer.test", raw
        )


def test_the_loop_hands_its_mail_to_the_writer_thread_while_that_one_holds_the_spool(
    intake: Intake,
) -> None:
    """The thread copies a large mail into the spool for a while: a small mail the loop
    gathered meanwhile is committed by the thread, and the loop goes on serving others."""
    writer = intake._spool  # what the writer thread would hold

    async def scenario() -> Stored:
        if writer is None:  # PostgreSQL: the thread commits everything anyway
            return (await intake.accept(arrival(1))).stored
        with writer._lock:  # as while the thread fills a large mail's blob
            waiting = asyncio.create_task(intake.accept(arrival(1)))
            await asyncio.sleep(0.2)  # the loop is free: had it waited, this would hang
            assert not waiting.done()
        return (await asyncio.wait_for(waiting, 30)).stored

    assert asyncio.run(scenario()) is Stored.NEW
