"""An attachment's base64 decoded into the blob store a chunk at a time: the bytes the email
package would decode, stored once, with no more than a chunk held on SQLite."""

from __future__ import annotations

import base64
import hashlib
import random
import tracemalloc
from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest
from sqlalchemy import func, select

from helpdesk.app.runtime import App
from storage.blobs_stream import (
    CHUNK_BYTES,
    StoredBlob,
    chunks_of,
    decoded,
    raw_range,
    store_base64,
    stored_raws,
)
from storage.models import Blob, InboundMail


def by_the_email_package(body: bytes) -> bytes:
    part = message_from_bytes(
        b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n" + body,
        policy=policy.compat32,
    )
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload


def test_decoding_in_pieces_gives_what_the_email_package_gives() -> None:
    rng = random.Random(3)
    for size in (0, 1, 2, 3, 57, 1000, 70_001):
        content = rng.randbytes(size)
        wrapped = base64.encodebytes(content).replace(b"\n", b"\r\n")
        variants = [
            wrapped,
            wrapped.rstrip(b"=\r\n"),  # the padding lost
            wrapped.replace(b"\r\n", b" \r\n\t"),  # blanks at the ends of lines
            wrapped.replace(b"A", b"A!", 3),  # stray characters
        ]
        for body in variants:
            for piece in (1, 3, 4, 77, 4096):
                assert b"".join(decoded(chunks_of(body, piece))) == by_the_email_package(body)
        assert b"".join(decoded(chunks_of(wrapped, 5))) == content


def test_a_large_attachment_is_stored_once_without_being_held(app: App) -> None:
    content = random.Random(4).randbytes(6 * 1024 * 1024)
    body = base64.encodebytes(content)
    tracemalloc.start()
    try:
        with app.engine.begin() as connection:
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            stored = store_base64(connection, lambda: chunks_of(body))
            peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert (stored.sha256, stored.size) == (hashlib.sha256(content).hexdigest(), len(content))
    if app.engine.dialect.name == "sqlite":
        assert peak < 3 * 1024 * 1024, peak  # a few chunks (whole: 6 MB); PostgreSQL: whole
    with app.engine.begin() as connection:
        assert store_base64(connection, lambda: chunks_of(body)) == stored  # stored already
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Blob)) == 1
        blob = session.get(Blob, stored.sha256)
        assert blob is not None and blob.content == content and blob.size == len(content)


def test_content_that_is_not_the_blob_it_was_said_to_be_is_refused(app: App) -> None:
    content = random.Random(5).randbytes(300_000)
    body = base64.encodebytes(content)
    claimed = StoredBlob(hashlib.sha256(b"something else").hexdigest(), len(content))
    refused = pytest.raises(ValueError, match="decoded content is not blob")
    with refused, app.engine.begin() as connection:
        store_base64(connection, lambda: chunks_of(body), known=claimed)
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Blob)) == 0  # rolled back


def test_a_range_of_a_stored_mail_is_read_a_chunk_at_a_time(app: App) -> None:
    raw = random.Random(6).randbytes(3 * CHUNK_BYTES + 17)
    with app.sessions.begin() as session:
        stored = InboundMail(
            dedupe_key="k", received_at=datetime.now(UTC), source="test", size=len(raw)
        )
        stored.raw = raw
        session.add(stored)
        session.flush()
        mail_id = stored.id
    with app.engine.connect() as connection:
        for start, end in ((0, len(raw)), (5, 6), (CHUNK_BYTES - 1, 2 * CHUNK_BYTES + 3)):
            pieces = list(raw_range(connection, mail_id, start, end))
            assert b"".join(pieces) == raw[start:end]
            assert max(map(len, pieces)) <= CHUNK_BYTES
        assert stored_raws(connection, [mail_id, mail_id + 1]) == {mail_id: raw}
