"""The SQLite intake spool: mail waits there after its 250, and moves once, in order."""

from __future__ import annotations

import hashlib
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from gateway.intake import Arrival, Intake, Stored, row_for
from helpdesk.app.runtime import App, build
from helpdesk.app.settings import Settings
from helpdesk.domain.mail.headers import header_block, header_facts
from storage import spool
from storage.models import InboundMail
from storage.raw_file import CHUNK_BYTES, RawFile
from tests.helpers import mail


def store(intake: Intake, raw: bytes) -> Stored:
    arrival = Arrival(raw, "alice@customer.test", ("support@example.com",), source="test")
    return intake.submit(arrival).result(timeout=30).stored


def stored_ids(app: App) -> list[str]:
    with app.sessions() as session:
        return list(session.scalars(select(InboundMail.message_id).order_by(InboundMail.id)))


def test_only_sqlite_files_have_a_spool() -> None:
    assert str(spool.spool_path("sqlite:////srv/var/helpdesk.db")) == "/srv/var/helpdesk.spool.db"
    assert spool.spool_path("sqlite://") is None
    assert spool.spool_path("postgresql://postgres@127.0.0.1/helpdesk") is None


def test_mail_waits_in_the_spool_then_moves_once_in_arrival_order(app: App, intake: Intake) -> None:
    mails = [mail(subject=f"Mail {n}", message_id=f"<m{n}@customer.test>") for n in range(3)]
    for message in mails:
        assert store(intake, message.as_bytes()) is Stored.NEW
    if spool.spool_for(app.engine) is None:  # PostgreSQL: the edge wrote inbound_mails itself
        assert spool.waiting(app.engine) == 0 and spool.move(app.engine) == 0
    else:
        assert spool.waiting(app.engine) == 3 and stored_ids(app) == []
        assert spool.move(app.engine) == 3
        assert spool.move(app.engine) == 0 and spool.waiting(app.engine) == 0
    assert stored_ids(app) == ["<m0@customer.test>", "<m1@customer.test>", "<m2@customer.test>"]


def test_a_crash_between_copy_and_delete_stores_nothing_twice(
    settings: Settings, sqlite_template: Path, tmp_path: Path
) -> None:
    shutil.copy(sqlite_template, tmp_path / "own.db")
    app = build(settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'own.db'}"}))
    spooled = spool.spool_for(app.engine)
    assert spooled is not None
    running = Intake(app.engine)
    running.start()
    try:
        store(running, mail(message_id="<once@customer.test>").as_bytes())
    finally:
        running.stop()
    with spooled.connect() as connection:
        rows = [dict(r) for r in connection.execute(select(spool.spooled_mails)).mappings()]
    spool.move(app.engine)
    with spooled.begin() as connection:
        connection.execute(spool.spooled_mails.insert(), rows)  # as if the delete never ran
    assert spool.move(app.engine) == 1
    assert stored_ids(app) == ["<once@customer.test>"]
    app.close()


def test_a_copy_of_a_mail_already_moved_is_dropped_by_the_move(app: App, intake: Intake) -> None:
    raw = mail(message_id="<twice@customer.test>").as_bytes()
    store(intake, raw)
    spool.move(app.engine)
    store(intake, raw)  # PostgreSQL sees the conflict at once; SQLite when it moves
    spool.move(app.engine)
    assert stored_ids(app) == ["<twice@customer.test>"]
    assert spool.waiting(app.engine) == 0


def test_concurrent_movers_lose_nothing_while_mail_streams_in(
    settings: Settings, sqlite_template: Path, tmp_path: Path
) -> None:
    """Two movers racing (two worker processes) while the spool empties and fills again: a
    mover that read a batch late must not delete mail that arrived since (ids are not reused)."""
    shutil.copy(sqlite_template, tmp_path / "race.db")
    app = build(settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'race.db'}"}))
    running = Intake(app.engine, window_seconds=0)
    running.start()
    stop = threading.Event()

    def mover() -> None:
        while not stop.is_set():
            spool.move(app.engine)

    movers = [threading.Thread(target=mover) for _ in range(2)]
    for thread in movers:
        thread.start()
    try:
        sent = [f"<race{n}@customer.test>" for n in range(300)]
        for message_id in sent:
            store(running, mail(subject=message_id, message_id=message_id).as_bytes())
    finally:
        stop.set()
        for thread in movers:
            thread.join()
        running.stop()
    while spool.move(app.engine):
        pass
    assert sorted(stored_ids(app)) == sorted(sent)
    app.close()


def test_what_the_edge_writes_with_sqlite3_moves_as_sqlalchemy_reads_it(
    settings: Settings, sqlite_template: Path, tmp_path: Path
) -> None:
    """The edge writes the spool through the sqlite3 module with the table's own type
    processors: the time stays an aware UTC time, the recipients a list, the bytes bytes."""
    shutil.copy(sqlite_template, tmp_path / "own.db")
    app = build(settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'own.db'}"}))
    raw = mail(message_id="<exact@customer.test>").as_bytes() + b"\xff\x00 binary tail"
    rows = [
        row_for(
            Arrival(
                raw, "Alice@Customer.test", ("support@example.com", "help@example.com"), "smtp"
            ),
            header_facts(raw),
            datetime(2026, 11, 30, 17, 5, 1, 123456, tzinfo=UTC),
        )
    ]
    writer = spool.SpoolWriter(app.engine)
    try:
        assert list(writer.insert(rows)) == [rows[0]["dedupe_key"]]
        assert writer.insert(rows) == {}  # the same key again: skipped
    finally:
        writer.close()
    assert spool.move(app.engine) == 1
    with app.sessions() as session:
        stored = session.scalars(select(InboundMail)).one()
        assert stored.raw == raw and stored.size == len(raw)
    assert stored.received_at == datetime(2026, 11, 30, 17, 5, 1, 123456, tzinfo=UTC)
    assert stored.envelope_to == ["support@example.com", "help@example.com"]
    assert (stored.envelope_from, stored.message_id) == (
        "Alice@Customer.test",
        "<exact@customer.test>",
    )
    app.close()


def test_a_mail_in_a_file_is_written_in_chunks_and_moves_whole(
    app: App, intake: Intake, tmp_path: Path
) -> None:
    """Through the intake's writer thread, on both databases (PostgreSQL reads it whole)."""
    raw = mail(message_id="<filed@customer.test>").as_bytes() + bytes(range(256)) * 20_000
    path = tmp_path / "filed.eml"
    path.write_bytes(raw)
    filed = RawFile(path, len(raw), hashlib.sha256(raw).digest(), header_block(raw))
    arrival = Arrival(filed, "alice@customer.test", ("support@example.com",), source="smtp")
    assert intake.submit(arrival).result(timeout=30).stored is Stored.NEW
    assert len(raw) > 4 * CHUNK_BYTES
    assert intake.submit(arrival).result(timeout=30).stored is Stored.DUPLICATE
    spool.move(app.engine)
    with app.sessions() as session:
        stored = session.scalars(select(InboundMail)).one()
        assert stored.raw == raw and stored.size == len(raw)
