"""Decoding ahead in a process of its own holds a bounded number of bytes, and tops up as the
unit of work takes what it decoded: every mail is decoded once, whatever the bound."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk.app.runtime import App
from storage import spool
from storage.models import InboundMail
from tests.helpers import mail, store_raw
from workers import decoder as decoding
from workers.decoder import Decoder

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
