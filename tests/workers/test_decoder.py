"""Decoding ahead in a process of its own holds a bounded number of bytes, and tops up as the
unit of work takes what it decoded: every mail is decoded once, whatever the bound."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from sqlalchemy import select

from helpdesk.app.runtime import App
from helpdesk.domain.mail.located import LOCATED_BYTES
from helpdesk.domain.vocabulary import EventKind
from storage import spool
from storage.models import Blob, InboundMail, MessageAttachment, Ticket, TicketEvent
from tests.helpers import mail, store_raw
from workers import decoder as decoding
from workers.decoder import Decoder
from workers.processor import drain, pending_ids, process_mail

ATTACHMENT = 300_000  # bytes of each mail's attachment: ~410 KB on the wire


def big_mails(app: App, count: int) -> list[int]:
    for n in range(count):
        message = mail(subject=f"Scan {n}", body=f"The scan number {n}.")
        message.add_attachment(bytes([n]) * ATTACHMENT, "application", "pdf", filename="s.pdf")
        store_raw(app, message.as_bytes(), sender=f"c{n}@customer.test")
    spool.move(app.engine)  # SQLite: from the spool to the database, as a drain does first
    with app.sessions() as session:
        return list(session.scalars(select(InboundMail.id).order_by(InboundMail.id)))


def test_decoding_ahead_stays_within_its_bytes_and_tops_up(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(decoding, "AHEAD_BYTES", 1_000_000)  # two of these mails, not three
    monkeypatch.setattr(decoding, "PART_BYTES", 500_000)  # one mail a part
    ids = big_mails(app, 5)
    worker = Decoder(app, processes=1)
    try:
        worker.ahead(ids, chunk=10)
        assert 0 < worker.ahead_bytes <= 1_000_000
        subjects = []
        for mail_id in ids:
            [context] = worker.take([mail_id]).values()
            assert context.parsed is not None
            subjects.append(context.parsed.subject)
            assert worker.ahead_bytes <= 1_000_000
        assert subjects == [f"Scan {n}" for n in range(5)]
        assert worker.ahead_bytes == 0  # each decoded once: nothing left waiting
    finally:
        worker.close()


def test_one_mail_larger_than_the_bound_is_still_decoded_ahead(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(decoding, "AHEAD_BYTES", 1000)
    [only] = big_mails(app, 1)
    worker = Decoder(app, processes=1)
    try:
        worker.ahead([only], chunk=10)
        assert worker.ahead_bytes > 1000  # one at least
        assert list(worker.take([only])) == [only]
    finally:
        worker.close()


def test_a_unit_of_work_takes_so_many_bytes_of_mail_and_one_at_least(app: App) -> None:
    ids = big_mails(app, 4)
    worker = Decoder(app)
    assert worker.fitting(ids, limit=1_000_000) == ids[:2]  # ~410 KB each
    assert worker.fitting(ids, limit=1000) == ids[:1]
    assert worker.fitting(ids) == ids


def test_a_large_attachment_decoded_ahead_comes_without_its_content_and_is_stored_whole(
    app: App,
) -> None:
    """The decoding process passes a large part on by its place in the raw mail: the worker
    decodes it from storage as it stores it, and what is stored is the attachment."""
    content = random.Random(8).randbytes(LOCATED_BYTES + 123)
    for n in range(2):  # two: a unit of work of two takes decoded contexts
        message = mail(subject=f"Contract {n}", body="The contract, signed.")
        message.add_attachment(content[n:], "application", "pdf", filename=f"c{n}.pdf")
        store_raw(app, message.as_bytes(), sender=f"c{n}@customer.test")
    spool.move(app.engine)
    worker = Decoder(app, processes=1)
    try:
        ids = pending_ids(app)
        contexts = worker.take(ids)
        parts = [a for ctx in contexts.values() if ctx.parsed for a in ctx.parsed.attachments]
        assert [(a.deferred, a.content, a.size) for a in parts] == [
            (True, b"", len(content)),
            (True, b"", len(content) - 1),
        ]
        assert not any(ctx.envelope.whole for ctx in contexts.values())
        worker.keep(contexts)
        drain(app, decoder=worker)
    finally:
        worker.close()
    with app.sessions() as session:
        stored = {b.sha256: b.content for b in session.scalars(select(Blob))}
        files = session.scalars(select(MessageAttachment).order_by(MessageAttachment.id)).all()
    assert [(f.filename, f.size) for f in files] == [
        ("c0.pdf", len(content)),
        ("c1.pdf", len(content) - 1),
    ]
    assert [stored[f.blob_sha256] for f in files] == [content, content[1:]]


def test_the_look_for_secrets_is_done_ahead_and_the_unit_of_work_takes_it(app: App) -> None:
    body = "Hello, I cannot sign in.\nLogin: bob\nPassword: correcthorse\nThanks"
    store_raw(app, mail(subject="Sign-in", body=body).as_bytes(), sender="bob@customer.test")
    spool.move(app.engine)
    with app.sessions() as session:
        [mail_id] = session.scalars(select(InboundMail.id))
    worker = Decoder(app, processes=1)
    try:
        worker.ahead([mail_id], chunk=10)
        [context] = worker.take([mail_id]).values()
    finally:
        worker.close()
    assert context.scanned is not None and context.scanned.kinds == ("a password",)
    # the unit of work takes the look as it was worked out, without looking again
    context.scanned = replace(context.scanned, kinds=("a private key",))
    process_mail(app, mail_id, context)
    with app.sessions() as session:
        ticket = session.scalars(select(Ticket)).one()
        created = session.scalars(
            select(TicketEvent).where(TicketEvent.kind == EventKind.TICKET_CREATED)
        ).one()
        assert "credentials" in ticket.tags
        assert created.after["credentials"] == ["a private key"]
