"""Large mail through a real SMTP socket: streamed to a file as it arrives, stored byte for
byte, refused as aiosmtpd refuses it, and no file left behind."""

from __future__ import annotations

import asyncio
import hashlib
import random
import smtplib
import tempfile
import time
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.data_stream import SPILL_BYTES, DataSink
from helpdesk.app.runtime import App
from storage.models import Blob, InboundMail
from storage.raw_file import RawFile
from storage.spool import spool_path
from tests.helpers import GatewayThread, mail, tickets

TO = ["support@example.com"]


def large_mail(attachment: bytes, message_id: str = "<large@customer.test>") -> bytes:
    """A mail well past ``SPILL_BYTES``, with lines that start with a dot (stuffed on the wire)
    and 8-bit text, in CRLF as it travels."""
    message = mail(message_id=message_id, body="Hello ✓\n.a line with a dot\n..two dots\n")
    message.add_attachment(attachment, maintype="application", subtype="octet-stream")
    return message.as_bytes(policy=policy.SMTP)


def leftovers(app: App) -> list[Path]:
    """The spilled files left where the edge writes them (beside the spool, else in the system's
    temporary directory), once the removal after the answer has had its moment."""
    spool = spool_path(app.settings.database_url)
    directory = spool.parent if spool is not None else Path(tempfile.gettempdir())
    for _ in range(100):
        found = sorted(directory.glob("data-*.eml"))
        if not found:
            break
        time.sleep(0.02)
    return found


def test_a_large_mail_is_stored_byte_for_byte_and_its_file_removed(
    gateway: GatewayThread, app: App
) -> None:
    attachment = random.Random(7).randbytes(3 * 1024 * 1024)
    raw = large_mail(attachment)
    assert len(raw) > 4 * SPILL_BYTES
    gateway.send(raw)
    gateway.settle()
    [ticket] = tickets(app)
    with app.sessions() as session:
        stored = session.scalars(select(InboundMail)).one()
        assert stored.raw == raw and stored.size == len(raw)
        assert stored.ticket_id == ticket.id
        blob = session.get(Blob, hashlib.sha256(attachment).hexdigest())
        assert blob is not None and blob.size == len(attachment)
    assert leftovers(app) == []


def test_a_large_mail_without_message_id_is_a_duplicate_the_second_time(
    gateway: GatewayThread, app: App
) -> None:
    """Its duplicate key comes from the digest the edge computed while writing the file."""
    raw = large_mail(random.Random(8).randbytes(SPILL_BYTES * 2))
    raw = b"".join(line for line in raw.splitlines(keepends=True) if b"Message-ID" not in line)
    with gateway.smtp() as client:
        for _ in range(2):
            client.sendmail("alice@customer.test", TO, raw)
    gateway.settle()
    assert len(tickets(app)) == 1


def small_gateway(app: App, limit: int) -> GatewayThread:
    small = App(
        app.settings.model_copy(update={"max_message_bytes": limit}),
        app.engine,
        app.sessions,
        app.secret,
    )
    running = GatewayThread(small)
    running.start()
    return running


def test_past_the_size_limit_a_spilled_mail_gets_552_and_the_session_goes_on(app: App) -> None:
    running = small_gateway(app, 3 * SPILL_BYTES)
    try:
        with running.smtp() as client:
            huge = large_mail(random.Random(9).randbytes(4 * SPILL_BYTES))
            with pytest.raises(smtplib.SMTPResponseException) as refused:
                client.sendmail("alice@customer.test", TO, huge)
            assert refused.value.smtp_code == 552
            client.sendmail("alice@customer.test", TO, mail().as_bytes())  # 250, same session
        running.settle()
    finally:
        running.stop()
    [ticket] = tickets(app)
    assert ticket.subject == "My printer is on fire"
    assert leftovers(app) == []


def test_a_line_over_1000_octets_past_the_buffer_gets_500(gateway: GatewayThread, app: App) -> None:
    raw = large_mail(random.Random(10).randbytes(2 * SPILL_BYTES)) + b"x" * 2000 + b"\r\n"
    with gateway.smtp() as client:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail("alice@customer.test", TO, raw)
        assert refused.value.smtp_code == 500 and b"Line too long" in refused.value.smtp_error
        assert client.noop()[0] == 250
    assert tickets(app) == []
    assert leftovers(app) == []


def test_the_sink_keeps_a_small_mail_in_memory_and_writes_a_large_one(tmp_path: Path) -> None:
    lines = [b"Message-ID: <s@x.test>\r\n", b"From: a@x.test\r\n", b"\r\n"]
    lines += [b"%07d " % n + b"y" * 70 + b"\r\n" for n in range(20_000)]

    async def through(count: int) -> bytes | RawFile:
        sink = DataSink(tmp_path)
        for line in lines[:count]:
            if sink.add(line):
                await sink.flush()
        return await sink.finish()

    small = asyncio.run(through(100))
    assert small == b"".join(lines[:100]) and list(tmp_path.iterdir()) == []
    large = asyncio.run(through(len(lines)))
    assert isinstance(large, RawFile)
    whole = b"".join(lines)
    assert large.path.read_bytes() == whole and large.size == len(whole)
    assert large.sha256 == hashlib.sha256(whole).digest()
    assert large.head == b"Message-ID: <s@x.test>\r\nFrom: a@x.test\r\n\r\n"
