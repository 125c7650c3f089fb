"""The intake spool of SQLite: where mail waits between its 250 and the pipeline.

SQLite has one writer at a time. If the SMTP edge committed into the main database, each 250
would wait behind the unit of ticket work holding the lock: measured with the benchmark, the
accept rate halved while the processor worked through a backlog. So on SQLite the edge commits
into a database file of its own (``helpdesk.spool.db`` beside ``helpdesk.db``), and the processor
moves what arrived into ``inbound_mails`` in short transactions. A crash between the insert and
the delete leaves a row in both: the move skips it on ``dedupe_key``, so it is idempotent, and a
second copy of a mail already moved is dropped there as a duplicate.

PostgreSQL locks rows, not the database, and needs none of this: there the edge writes
``inbound_mails`` itself and ``spool_for`` returns None.

The spool is a queue, not a record: rows live for a second or two. It has no migrations; its
one table is created when missing (a release that changes it drains it first).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    func,
    select,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url

from helpdesk.domain.vocabulary import MailStatus
from storage.base import UTCDateTime
from storage.db import make_engine, reading, set_pragmas
from storage.models import InboundMail
from storage.raw_file import RawFile

log = logging.getLogger("helpdesk.spool")
MOVE_BYTES = 32 * 1024 * 1024  # one move copies at most this much mail (at least one mail)

SPOOL = MetaData()
spooled_mails = Table(
    "spooled_mails",
    SPOOL,
    Column("id", Integer, primary_key=True),
    Column("dedupe_key", String(64), nullable=False, unique=True),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("source", String(16), nullable=False),
    Column("peer", String(200), nullable=False),
    Column("envelope_from", String(320), nullable=False),
    Column("envelope_to", JSON, nullable=False),
    Column("message_id", String(998), nullable=False),
    Column("from_address", String(320), nullable=False),
    Column("size", Integer, nullable=False),
    Column("raw", LargeBinary, nullable=False),
    sqlite_autoincrement=True,  # an id is never reused: a late mover can delete only its rows
)
CARRIED = tuple(c.name for c in spooled_mails.columns if c.name != "id")

_DIALECT = sqlite.dialect()
_BINDS = [(name, spooled_mails.c[name].type.bind_processor(_DIALECT)) for name in CARRIED]
_INSERT = (
    f"INSERT INTO spooled_mails ({', '.join(CARRIED)})"
    f" VALUES ({', '.join(':' + name for name in CARRIED)})"
    " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, dedupe_key"
)
_INSERT_EMPTY = _INSERT.replace(":raw", "zeroblob(:raw)")  # a mail in a file: filled after

_status = InboundMail.__table__.c.status.type.bind_processor(_DIALECT)
_RECEIVED = _status(MailStatus.RECEIVED) if _status else MailStatus.RECEIVED.value
_MAIL_COLUMNS = ", ".join(name for name in CARRIED if name != "raw")
_MOVE = (
    f"INSERT INTO main.inbound_mails ({_MAIL_COLUMNS}, status, outcome, reason, error)"
    f" SELECT {_MAIL_COLUMNS}, ?, '', '', '' FROM spool.spooled_mails"
    " WHERE id IN ({marks}) ORDER BY id ON CONFLICT (dedupe_key) DO NOTHING"
)
_MOVE_RAW = (
    "INSERT INTO main.inbound_raws (mail_id, raw)"
    " SELECT m.id, s.raw FROM spool.spooled_mails AS s"
    " JOIN main.inbound_mails AS m ON m.dedupe_key = s.dedupe_key"
    " WHERE s.id IN ({marks}) ON CONFLICT (mail_id) DO NOTHING"
)

_engines: dict[str, Engine] = {}
_movers: dict[str, _Mover] = {}
_lock = threading.Lock()


def spool_path(database_url: str) -> Path | None:
    """The spool file for a SQLite database file; None for other databases."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    main = Path(str(url.database))
    return main.with_name(f"{main.stem}.spool{main.suffix}")


def _path_of(main: Engine) -> Path | None:
    return spool_path(main.url.render_as_string(hide_password=False))


def spool_for(main: Engine) -> Engine | None:
    """The spool engine of ``main`` (one per file and process), or None without a spool."""
    path = _path_of(main)
    if path is None:
        return None
    with _lock:
        engine = _engines.get(str(path))
        if engine is None:
            engine = make_engine(f"sqlite:///{path}")
            SPOOL.create_all(engine)
            _engines[str(path)] = engine
        return engine


class SpoolWriter:
    """The edge's inserts into the spool, through the sqlite3 module itself.

    Why not SQLAlchemy: on the edge's hot path its work per transaction (pool checkout, events,
    compiled-statement lookup, result objects) was a tenth of the listener's time. The values
    still go through the table's own type processors, so the move reads back what SQLAlchemy
    would have written; the connection has the engine's settings (WAL, ``synchronous=FULL``).
    A mail in a file (``RawFile``) is inserted as a blob of its size, then written into it a
    chunk at a time (SQLite's incremental blob I/O), so it is never in memory whole.
    """

    def __init__(self, main: Engine) -> None:
        spool_for(main)  # the file and its table
        path = _path_of(main)
        assert path is not None, "only a SQLite file has a spool"
        self._connection = _connect(path)
        self._lock = threading.Lock()  # the edge's loop and the IMAP poller's writer thread

    def insert(self, rows: list[dict[str, Any]]) -> dict[str, int]:
        """Insert the rows in one transaction, skipping any whose ``dedupe_key`` is stored
        already; the ids of the new rows, by key."""
        values = [_bound(row) for row in rows]
        with self._lock:
            cursor = self._connection.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                inserted = {}
                for row, value in zip(rows, values, strict=True):
                    raw = row["raw"]
                    statement = _INSERT_EMPTY if isinstance(raw, RawFile) else _INSERT
                    new = cursor.execute(statement, value).fetchall()
                    if new:
                        inserted[str(new[0][1])] = int(new[0][0])
                        if isinstance(raw, RawFile):
                            self._fill(int(new[0][0]), raw)
                cursor.execute("COMMIT")
            except BaseException:
                if self._connection.in_transaction:
                    self._connection.rollback()
                raise
        return inserted

    @property
    def busy(self) -> bool:
        """Whether another thread is writing (the loop then hands its mail over, not waits)."""
        return self._lock.locked()

    def _fill(self, row_id: int, raw: RawFile) -> None:
        with self._connection.blobopen("spooled_mails", "raw", row_id) as blob:
            for chunk in raw.chunks():
                blob.write(chunk)

    def close(self) -> None:
        with self._lock:
            self._connection.close()


def _bound(row: dict[str, Any]) -> dict[str, Any]:
    """A row's values through the table's type processors; a file's mail by its size."""
    values = {}
    for name, bind in _BINDS:
        value = row[name]
        if isinstance(value, RawFile):
            values[name] = value.size
        else:
            values[name] = bind(value) if bind else value
    return values


def release(main: Engine) -> None:
    """Close the spool's connections (when its application closes)."""
    path = _path_of(main)
    with _lock:
        engine = _engines.pop(str(path), None) if path else None
        mover = _movers.pop(str(path), None) if path else None
    if engine is not None:
        engine.dispose()
    if mover is not None:
        mover.close()


def waiting(main: Engine) -> int:
    spool = spool_for(main)
    if spool is None:
        return 0
    with reading(spool).connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(spooled_mails)) or 0)


def move(main: Engine) -> int:
    """Move the oldest spooled mail into ``inbound_mails``; returns how many rows left the spool."""
    path = _path_of(main)
    if path is None:
        return 0
    spool_for(main)  # the file and its table
    with _lock:
        mover = _movers.get(str(path))
        if mover is None:
            main_path = make_url(main.url.render_as_string(hide_password=False)).database
            mover = _movers[str(path)] = _Mover(Path(str(main_path)), path)
    return mover.move()


def _connect(path: Path) -> sqlite3.Connection:
    """A bare connection with the engine's settings (``storage.db.set_pragmas``); each statement
    its own transaction unless BEGIN says otherwise."""
    connection = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    set_pragmas(connection)
    return connection


class _Mover:
    """Moves spooled mail inside SQLite: the spool is attached to a connection of the main
    database, and one INSERT ... SELECT copies the rows, blobs and all, without them passing
    through Python (measured: moving through SQLAlchemy was a sixth of the processor's time).

    The copy (the mail's row, then its bytes) is one transaction on the main database, the
    delete another on the spool: never both write locks at once, so the edge never waits
    behind the copy.
    """

    def __init__(self, main: Path, spool: Path) -> None:
        self._connection = _connect(main)
        self._connection.execute("ATTACH DATABASE ? AS spool", (str(spool),))
        self._connection.execute("PRAGMA spool.synchronous=FULL")
        self._lock = threading.Lock()

    def move(self) -> int:
        with self._lock:
            sizes = self._connection.execute(
                "SELECT id, size FROM spool.spooled_mails ORDER BY id LIMIT 500"
            ).fetchall()
            ids: list[int] = []
            total = 0
            for mail_id, size in sizes:
                if ids and total + size > MOVE_BYTES:
                    break
                ids.append(int(mail_id))
                total += int(size)
            if not ids:
                return 0
            marks = ", ".join("?" * len(ids))
            # BEGIN, not BEGIN IMMEDIATE: that would take the spool's write lock too
            self._connection.execute("BEGIN")
            try:
                kept = self._connection.execute(
                    _MOVE.format(marks=marks), [_RECEIVED, *ids]
                ).rowcount
                self._connection.execute(_MOVE_RAW.format(marks=marks), ids)
                self._connection.execute("COMMIT")
            except BaseException:
                if self._connection.in_transaction:
                    self._connection.rollback()
                raise
            self._connection.execute(f"DELETE FROM spool.spooled_mails WHERE id IN ({marks})", ids)
        if kept < len(ids):
            log.info(
                "%d spooled mail(s) were already stored: dropped as duplicates", len(ids) - kept
            )
        return len(ids)

    def close(self) -> None:
        with self._lock:
            self._connection.close()
