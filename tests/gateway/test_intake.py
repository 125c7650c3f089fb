"""The intake's group commit: a client that stops waiting loses nothing and blocks nobody."""

from __future__ import annotations

import asyncio
import re
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parseaddr

from gateway.intake import Arrival, Intake, Stored
from helpdesk.app.runtime import App
from helpdesk.domain.mail.headers import HeaderFacts, header_block, header_facts
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
