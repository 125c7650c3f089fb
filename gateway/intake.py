"""Durable intake: raw mail committed, with group commit, before anyone is told 250.

Every accepted mail, from the SMTP edge (``Intake.accept``) or the IMAP poller (``Intake.submit``),
is inserted with whatever else has queued (waiting at most a short window for company) in one
transaction: durability costs one fsync per batch, not per mail. On SQLite it goes into the
spool (``storage.spool``), and the SMTP edge commits on its own event loop: a batch is what the
loop gathered in one turn, and committing takes well under a millisecond. A hand-off to a writer
thread cost more than that: the two threads took turns with the interpreter lock, which added
milliseconds to each 250 under load. Elsewhere (PostgreSQL: a commit is a round trip to the
server) and for the IMAP poller, one writer thread commits, and the edge awaits it.

A duplicate (same Message-ID from the same sender) is a conflict on a unique key, answered as
already stored; a copy of a mail already moved out of the spool is dropped by the move. Only the
header block is read here; the MIME body is the pipeline's business.

A large mail arrives as a file (``storage.raw_file``): it goes through the writer thread, which
copies it into the database a chunk at a time, with at most ``BATCH_BYTES`` of mail per
transaction, so the loop never copies or waits for it. While that thread holds the spool, what
the loop gathered is handed to the thread too rather than waiting on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Insert, Table, insert
from sqlalchemy.dialects import postgresql, sqlite

from helpdesk.domain.mail.headers import HeaderFacts, dedupe_key, header_facts
from storage.models import InboundMail, InboundRaw
from storage.raw_file import RawFile, dedupe_key_of_file, size_of
from storage.spool import SpoolWriter, spool_for, spool_path

log = logging.getLogger("helpdesk.intake")
MAX_BATCH = 128
BATCH_BYTES = 16 * 1024 * 1024  # mail copied by one of the writer thread's transactions
INBOUND: Table = InboundMail.__table__  # type: ignore[assignment]


class Stored(enum.StrEnum):
    NEW = "new"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Arrival:
    raw: bytes | RawFile
    envelope_from: str
    envelope_to: tuple[str, ...]
    source: str
    peer: str = ""


@dataclass(frozen=True)
class Receipt:
    stored: Stored
    mail_id: int | None


def _text(value: object) -> str:
    return str(value).encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


def facts_of(raw: bytes | RawFile) -> HeaderFacts:
    return header_facts(raw.head if isinstance(raw, RawFile) else raw)


def row_for(arrival: Arrival, facts: HeaderFacts, now: datetime) -> dict[str, Any]:
    raw = arrival.raw
    if isinstance(raw, RawFile):
        key = dedupe_key_of_file(facts, arrival.envelope_from, raw)
    else:
        key = dedupe_key(facts, arrival.envelope_from, raw)
    return {
        "dedupe_key": key,
        "received_at": now,
        "source": arrival.source,
        "peer": arrival.peer[:200],
        "envelope_from": _text(arrival.envelope_from)[:320],
        "envelope_to": [_text(a)[:320] for a in arrival.envelope_to],
        "message_id": facts.message_id,
        "from_address": facts.from_address,
        "size": size_of(raw),
        "raw": arrival.raw,
    }


@dataclass
class _Pending:
    row: dict[str, Any]
    future: Future[Receipt] | asyncio.Future[Receipt]

    def answer(self, receipt: Receipt | None) -> None:
        """Tell the waiting client, if it still waits: one whose connection dropped has
        cancelled its future (the mail stays stored; the client will send it again, and the
        copy is answered as a duplicate)."""
        with contextlib.suppress(InvalidStateError, asyncio.InvalidStateError):
            if receipt is None:
                self.future.set_exception(RuntimeError("storage failed"))
            else:
                self.future.set_result(receipt)


class Intake:
    """The group-commit writer. ``on_commit`` is called after each batch with new mail.

    It writes into the spool on SQLite (``storage.spool``: the edge never waits behind ticket
    work for SQLite's one write lock), into ``inbound_mails`` elsewhere.
    """

    def __init__(
        self,
        engine: Engine,
        window_seconds: float = 0.0005,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self._engine = engine
        self._spool = SpoolWriter(engine) if spool_for(engine) is not None else None
        self._insert = _insert_for(engine)
        self._window = window_seconds
        self._on_commit = on_commit
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._gathered: list[_Pending] = []
        self._thread = threading.Thread(target=self._run, name="intake-writer", daemon=True)
        spool = spool_path(engine.url.render_as_string(hide_password=False))
        self.spill_dir = spool.parent if spool is not None else None  # large mail's files

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)
        if self._spool is not None:
            self._spool.close()

    def submit(self, arrival: Arrival, facts: HeaderFacts | None = None) -> Future[Receipt]:
        facts = facts or facts_of(arrival.raw)
        future: Future[Receipt] = Future()
        self._queue.put(_Pending(row_for(arrival, facts, datetime.now(UTC)), future))
        return future

    async def accept(self, arrival: Arrival, facts: HeaderFacts | None = None) -> Receipt:
        """``submit`` for a coroutine on the event loop: on SQLite committed by the loop itself,
        with whatever else arrived in the same turn of the loop; a large mail by the thread."""
        if self._spool is None or isinstance(arrival.raw, RawFile):
            return await asyncio.wrap_future(self.submit(arrival, facts))
        loop = asyncio.get_running_loop()
        facts = facts or facts_of(arrival.raw)
        future: asyncio.Future[Receipt] = loop.create_future()
        self._gathered.append(_Pending(row_for(arrival, facts, datetime.now(UTC)), future))
        if len(self._gathered) == 1:
            loop.call_soon(self._commit_gathered)
        return await future

    def _commit_gathered(self) -> None:
        batch, self._gathered = self._gathered, []
        if self._spool is not None and self._spool.busy:
            for pending in batch:
                self._hand_over(pending)
            return
        for start in range(0, len(batch), MAX_BATCH):
            self._commit(batch[start : start + MAX_BATCH])

    def _hand_over(self, pending: _Pending) -> None:
        """Let the writer thread commit a mail the loop gathered (the spool is busy with a
        large mail, which the loop must not wait for); the answer comes back to the loop."""
        waiting = pending.future
        assert isinstance(waiting, asyncio.Future)
        loop = waiting.get_loop()
        relay: Future[Receipt] = Future()
        relay.add_done_callback(lambda done: loop.call_soon_threadsafe(_relay, done, waiting))
        self._queue.put(_Pending(pending.row, relay))

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stopping = self._gather(first)
            self._commit(batch)
            if stopping:
                return

    def _gather(self, first: _Pending) -> tuple[list[_Pending], bool]:
        batch = [first]
        deadline = time.monotonic() + self._window
        size = first.row["size"]
        while len(batch) < MAX_BATCH and size < BATCH_BYTES:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
            size += item.row["size"]
        return batch, False

    def _commit(self, batch: list[_Pending]) -> None:
        try:
            receipts = self._write(batch)
        except Exception:
            if len(batch) == 1:
                log.exception("could not store mail %s", batch[0].row["message_id"] or "(no id)")
                batch[0].answer(None)
                return
            for pending in batch:  # one poison row must not fail its neighbours
                self._commit([pending])
            return
        for pending, receipt in zip(batch, receipts, strict=True):
            pending.answer(receipt)
        if any(r.stored is Stored.NEW for r in receipts):
            self._on_commit()

    def _write(self, batch: list[_Pending]) -> list[Receipt]:
        rows = [p.row for p in batch]
        if self._spool is not None:
            inserted = self._spool.insert(rows)
        else:
            with self._engine.begin() as connection:
                mails = [{k: v for k, v in row.items() if k != "raw"} for row in rows]
                inserted = {
                    key: mail_id for mail_id, key in connection.execute(self._insert, mails)
                }
                raws = {row["dedupe_key"]: row["raw"] for row in rows}
                _insert_raws(connection, inserted, raws)
        receipts, seen = [], set()
        for row in rows:
            key = row["dedupe_key"]
            if key in inserted and key not in seen:
                receipts.append(Receipt(Stored.NEW, inserted[key]))
            else:
                receipts.append(Receipt(Stored.DUPLICATE, None))
            seen.add(key)
        return receipts


def _relay(done: Future[Receipt], waiting: asyncio.Future[Receipt]) -> None:
    if waiting.done():  # the client gave up waiting; the mail is stored all the same
        return
    error = done.exception()
    if error is not None:
        waiting.set_exception(error)
    else:
        waiting.set_result(done.result())


def _insert_raws(connection: Connection, inserted: dict[str, int], raws: dict[str, Any]) -> None:
    """The bytes of the new mails: those in memory at once; a mail in a file alone, read
    just before its insert (the driver takes a parameter only whole), so that only one large
    mail is held at a time."""
    held = [{"mail_id": i, "raw": raws[key]} for key, i in inserted.items()]
    in_memory = [row for row in held if not isinstance(row["raw"], RawFile)]
    if in_memory:
        connection.execute(insert(InboundRaw), in_memory)
    for row in held:
        if isinstance(row["raw"], RawFile):
            value = {"mail_id": row["mail_id"], "raw": row["raw"].read()}
            connection.execute(insert(InboundRaw), value)


def _insert_for(engine: Engine) -> Insert:
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    statement: Insert = dialect.insert(INBOUND).on_conflict_do_nothing(
        index_elements=["dedupe_key"]
    )
    return statement.returning(INBOUND.c.id, INBOUND.c.dedupe_key)
