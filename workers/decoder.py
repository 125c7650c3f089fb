"""Decoding ahead: waiting mails parsed and classified (pipeline.prepare) without a lock, in
this thread or in processes of their own, before their unit of work takes them."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.app import pipeline
from helpdesk.app.pipeline.context import Envelope, MailContext
from helpdesk.app.runtime import App, build
from helpdesk.app.settings import Settings
from helpdesk.domain.mail.message import Attachment
from helpdesk.domain.vocabulary import MailStatus
from storage.blobs_stream import chunks_of, measured, stored_raws
from storage.db import reading
from storage.models import InboundMail

log = logging.getLogger("helpdesk.processor")
AHEAD_BYTES = 48 * 1024 * 1024  # mail decoded ahead, or decoded and waiting: at most (one at least)
PART_BYTES = 16 * 1024 * 1024  # one process's part at a time (one mail at least)
UNIT_BYTES = 32 * 1024 * 1024  # the mails of one unit of work (``fitting``): one at least


def envelope_of(mail: InboundMail, raw: bytes | None = None) -> Envelope:
    return Envelope(
        mail_id=mail.id,
        raw=mail.raw if raw is None else raw,
        envelope_from=mail.envelope_from,
        envelope_to=tuple(mail.envelope_to),
        received_at=mail.received_at,
        source=mail.source,
        peer=mail.peer,
    )


def prepared(app: App, mail_ids: list[int]) -> dict[int, MailContext]:
    """Contexts for the waiting mails of ``mail_ids``, decoded and classified, read without a lock.

    A mail that cannot be decoded gets a bare context: the pipeline decodes it again inside
    the unit of work, where the failure quarantines it with the reason.
    """
    found = {}
    with Session(reading(app.engine)) as session:
        rows = session.scalars(
            select(InboundMail).where(
                InboundMail.id.in_(mail_ids), InboundMail.status == MailStatus.RECEIVED
            )
        ).all()
        raws = stored_raws(session.connection(), [mail.id for mail in rows])
        envelopes = [envelope_of(mail, raws[mail.id]) for mail in rows if mail.id in raws]
    for envelope in envelopes:
        try:
            ctx = pipeline.prepare(MailContext(envelope))
        except Exception:
            ctx = MailContext(envelope)
        else:  # decoded: the rest of a large mail's bytes stay in storage
            _lean(ctx)
        found[envelope.mail_id or 0] = ctx
    return found


def _lean(ctx: MailContext) -> None:
    """What a decoded mail's context keeps of its bytes: the head of a large mail, and its large
    parts by their place in it (decoded again from storage as they are stored)."""
    raw, mail = ctx.envelope.raw, ctx.parsed
    ctx.envelope = ctx.envelope.head()
    if mail is None or not any(a.encoded_at for a in mail.attachments):
        return
    kept = tuple(a.without_content() if _found_at(raw, a) else a for a in mail.attachments)
    ctx.parsed = replace(mail, attachments=kept)


def _found_at(raw: bytes, attachment: Attachment) -> bool:
    """Whether the text at the attachment's place in ``raw`` decodes to its content."""
    if attachment.encoded_at is None:
        return False
    start, end = attachment.encoded_at
    found = measured(lambda: chunks_of(memoryview(raw)[start:end]))
    return (found.sha256, found.size) == (attachment.sha256, attachment.size)


_pool_app: App | None = None


def _pool_start(settings: Settings, parent: int) -> None:
    global _pool_app
    _pool_app = build(settings)
    threading.Thread(target=_end_with, args=(parent,), daemon=True).start()


def _end_with(parent: int) -> None:
    """A decoding process ends with the process it decodes for, however that one ends."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _pool_decode(mail_ids: list[int]) -> dict[int, MailContext]:
    assert _pool_app is not None, "started by _pool_start"
    return prepared(_pool_app, mail_ids)


class Decoder:
    """Decodes and classifies waiting mails (``pipeline.prepare``) ahead of their unit of work.

    In the calling thread by default. With ``processes``, in processes of their own, which
    decode the next mails while this one writes: on SQLite only one process writes at a time,
    and decoding was a quarter of its work. A decoding process that fails only costs the
    speed: the mails are decoded here instead.

    What is decoded ahead is bounded by bytes (``AHEAD_BYTES``), and topped up as mails are
    taken: a decoded mail holds its raw bytes and its decoded attachments, and twenty mails of
    10 MB decoded at once took the worker to 310 MB.
    """

    def __init__(self, app: App, processes: int = 0) -> None:
        self._app = app
        self._ready: dict[int, MailContext] = {}  # decoded, not yet taken by a unit of work
        self._ahead: dict[int, Future[dict[int, MailContext]]] = {}
        self._wanted: list[int] = []  # what to decode ahead, in order
        self._chunk = 1
        self._sizes: dict[int, int] = {}  # the raw size of each mail wanted
        self._pool: ProcessPoolExecutor | None = None
        if processes > 0:
            self._pool = ProcessPoolExecutor(
                processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_pool_start,
                initargs=(app.settings, os.getpid()),
            )
            try:
                self._pool.submit(int)  # start the processes now, not with the first mail
            except Exception as exc:
                log.error("cannot start decoding processes (%s); decoding in this one", exc)
                self._pool.shutdown(wait=False)
                self._pool = None

    def ahead(self, mail_ids: list[int], chunk: int) -> None:
        """Start decoding ``mail_ids``, ``chunk`` at a time, if there are processes for it, as
        far as ``AHEAD_BYTES`` goes (``take`` goes on). What was decoded for mails not among
        them any more, someone else processed."""
        wanted = set(mail_ids)
        self._ready = {i: c for i, c in self._ready.items() if i in wanted}
        self._ahead = {i: f for i, f in self._ahead.items() if i in wanted}
        self._wanted, self._chunk = list(mail_ids), max(1, chunk)
        self._sizes = {i: n for i, n in self._sizes.items() if i in wanted}
        self._submit()

    @property
    def ahead_bytes(self) -> int:
        """The raw size of the mails being decoded ahead, or decoded and waiting."""
        return sum(self._sizes.get(i, 0) for i in (*self._ahead, *self._ready))

    def _submit(self) -> None:
        if self._pool is None:
            return
        fresh = [i for i in self._wanted if i not in self._ahead and i not in self._ready]
        self._measure(fresh)
        held = self.ahead_bytes
        part: list[int] = []
        part_bytes = 0
        for mail_id in fresh:
            size = self._sizes.get(mail_id, 0)
            if held + size > AHEAD_BYTES and (held or part):
                break
            if part and (len(part) >= self._chunk or part_bytes + size > PART_BYTES):
                if not self._send(part):
                    return
                part, part_bytes = [], 0
            part.append(mail_id)
            part_bytes += size
            held += size
        if part:
            self._send(part)

    def _measure(self, mail_ids: list[int]) -> None:
        unknown = [i for i in mail_ids if i not in self._sizes]
        if not unknown:
            return
        with reading(self._app.engine).connect() as connection:
            query = select(InboundMail.id, InboundMail.size).where(InboundMail.id.in_(unknown))
            self._sizes.update({mail_id: size for mail_id, size in connection.execute(query)})

    def _send(self, part: list[int]) -> bool:
        assert self._pool is not None
        try:
            future = self._pool.submit(_pool_decode, part)
        except BrokenProcessPool as exc:
            log.error("decoding processes gone (%s); decoding in this one from now on", exc)
            self._pool = None
            return False
        self._ahead.update(dict.fromkeys(part, future))
        return True

    def take(self, mail_ids: list[int]) -> dict[int, MailContext]:
        """The contexts of those of ``mail_ids`` still waiting, decoded."""
        found: dict[int, MailContext] = {}
        missing = []
        for mail_id in mail_ids:
            if mail_id in self._ready:
                found[mail_id] = self._ready.pop(mail_id)
                continue
            future = self._ahead.pop(mail_id, None)
            try:
                decoded = future.result() if future is not None else None
            except Exception as exc:  # a broken pool: decode here
                log.warning("decoding process failed (%s); decoding here", exc)
                decoded = None
            if decoded is None:
                missing.append(mail_id)
            elif mail_id in decoded:
                found[mail_id] = decoded[mail_id]
        taken = set(mail_ids)
        self._wanted = [i for i in self._wanted if i not in taken]
        self._submit()  # the next ones, in the room these leave
        return found | (self._decoded_now(missing) if missing else {})

    def fitting(self, mail_ids: list[int], limit: int | None = None) -> list[int]:
        """The first of ``mail_ids`` whose mails add up to ``limit`` bytes (``UNIT_BYTES``), one
        at least: what a unit of work holds at once, decoded, until it commits."""
        self._measure(mail_ids)
        room = UNIT_BYTES if limit is None else limit
        fit: list[int] = []
        for mail_id in mail_ids:
            room -= self._sizes.get(mail_id, 0)
            if fit and room < 0:
                break
            fit.append(mail_id)
        return fit

    def _decoded_now(self, mail_ids: list[int]) -> dict[int, MailContext]:
        """Decoded by a decoding process if there is one (its memory, not this one's, holds a
        big mail's parse), else here."""
        if self._pool is not None:
            try:
                return self._pool.submit(_pool_decode, mail_ids).result()
            except Exception as exc:  # a broken pool: decode here
                log.warning("decoding process failed (%s); decoding here", exc)
        return prepared(self._app, mail_ids)

    def keep(self, contexts: dict[int, MailContext]) -> None:
        """Contexts taken for a unit of work that ended before reaching them."""
        self._ready.update(contexts)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
