"""An attachment's base64 decoded into the blob store a chunk at a time: the bytes the email
package would decode, stored once, with no more than a chunk held on SQLite."""

from __future__ import annotations

import base64
import hashlib
import random
import tracemalloc
from email import message_from_bytes, policy

from sqlalchemy import func, select

from helpdesk.app.runtime import App
from storage.blobs_stream import chunks_of, decoded, store_base64
from storage.models import Blob


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
