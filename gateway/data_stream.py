"""DATA received as it arrives: in memory up to ``SPILL_BYTES``, then into a file, off the loop.

Why a subclass of aiosmtpd's ``SMTP``: its ``smtp_DATA`` (1.4) keeps every line of the mail as a
``bytearray`` in a list, joins them into one ``bytes`` (``original_content``) and hands that to
the handler: a mail is held about twice over before the handler sees it, and there is no hook to
receive the lines elsewhere. ``StreamingSMTP.smtp_DATA`` is that method with the lines going to
a ``DataSink`` instead; everything else is aiosmtpd's: the 354, dot-unstuffing (RFC 5321
4.5.2), 500 for a line over 1000 octets and 552 past ``data_size_limit`` (both answered after
the final dot, the data dropped at once), the bytes kept as sent (8BITMIME, SMTPUTF8), and the
handler's contract: ``handle_DATA(server, session, envelope)`` returns the reply, ``250 OK``
without a hook. The handler finds the mail in ``envelope.received``: ``bytes`` (also in
``original_content``, as before) or, past ``SPILL_BYTES``, a ``storage.raw_file.RawFile``.

A spilled mail's chunks are written and hashed by a thread while the loop reads on (hashlib
and file writes release the interpreter lock); the file is not fsynced, since it is only the
way to the spool, whose commit is durable. It is removed once the handler has answered.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import enum
import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import IO, Any

from aiosmtpd.smtp import MISSING, SMTP, Envelope, syntax

from helpdesk.domain.mail.headers import header_block
from storage.raw_file import CHUNK_BYTES, RawFile

SPILL_BYTES = 512 * 1024  # a mail up to this size stays in memory (most mail: ~12 KB)
HEAD_BYTES = 256 * 1024  # the header block kept for the edge's checks, at most
# A socket read brings up to 256 KB, which the reader hands over without yielding: twenty
# sessions doing that in a row kept a NOOP on another one waiting. Each yields this often.
YIELD_BYTES = 64 * 1024
READ_BYTES = 64 * 1024  # taken from the reader's buffer at once
log = logging.getLogger("helpdesk.smtp")
_WRITER = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="data-spill")


class _State(enum.Enum):
    NOMINAL = "nominal"
    TOO_LONG = "500 Line too long (see RFC5321 4.5.3.1.6)"
    TOO_MUCH = "552 Error: Too much mail data"
    NOT_WRITTEN = "451 4.3.0 Could not store the message now; please try again later"


class StreamedEnvelope(Envelope):
    """aiosmtpd's envelope, with the mail as received (``bytes`` or a ``RawFile``)."""

    def __init__(self) -> None:
        super().__init__()
        self.received: bytes | RawFile | None = None


class DataSink:
    """One mail's DATA: a buffer, and once it passes ``SPILL_BYTES`` a file in ``directory``
    written one ``CHUNK_BYTES`` chunk at a time (at most one write in flight)."""

    def __init__(self, directory: Path | None) -> None:
        self._directory = directory
        self._buffer = bytearray()
        self._head: bytes | None = None
        self._file: IO[bytes] | None = None
        self._path: Path | None = None
        self._digest = hashlib.sha256()
        self._size = 0
        self._writing: concurrent.futures.Future[None] | None = None
        self.failed = False  # a write failed (the disk is full): the mail is answered 451

    def add(self, line: bytes) -> bool:
        """Take one unstuffed line; True when a chunk is ready for ``flush``."""
        self._buffer += line
        limit = CHUNK_BYTES if self._head is not None else SPILL_BYTES
        return len(self._buffer) >= limit

    async def flush(self) -> None:
        """Hand the buffer to the writer thread, after the chunk before it is written."""
        await self._written()
        if self.failed:
            self.drop()
            return
        if self._head is None:
            self._head = header_block(bytes(self._buffer[:HEAD_BYTES])) + b"\r\n\r\n"
        chunk, self._buffer = self._buffer, bytearray()
        self._size += len(chunk)
        self._writing = _WRITER.submit(self._write, chunk)

    def drop(self) -> None:
        """Forget what was received (the mail is refused: too long a line, too large)."""
        self._buffer = bytearray()

    async def finish(self) -> bytes | RawFile | None:
        """The mail, in memory or in its file (closed); None when its file could not be written."""
        if self._head is None:
            received, self._buffer = bytes(self._buffer), bytearray()
            return received
        await self.flush()
        await self._written()
        if self.failed or self._path is None:
            return None
        await asyncio.wrap_future(_WRITER.submit(self._close))
        return RawFile(self._path, self._size, self._digest.digest(), self._head)

    async def _written(self) -> None:
        writing, self._writing = self._writing, None
        if writing is None:
            return
        try:
            await asyncio.wrap_future(writing)
        except OSError as error:
            log.error("a mail being received could not be written to %s: %s", self._path, error)
            self.failed = True

    def discard(self) -> None:
        """Remove the file, if any, once its last write is done (never awaits: it also runs
        when the session's task is cancelled)."""
        self._buffer = bytearray()
        if self._head is None:  # never spilled: no file
            return
        if self._writing is None:
            _WRITER.submit(self._remove)
        else:
            self._writing.add_done_callback(lambda _: _WRITER.submit(self._remove))

    def _write(self, chunk: bytearray) -> None:
        if self._file is None:
            handle, name = tempfile.mkstemp(prefix="data-", suffix=".eml", dir=self._directory)
            self._file, self._path = os.fdopen(handle, "wb"), Path(name)
        self._digest.update(chunk)
        self._file.write(chunk)

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()

    def _remove(self) -> None:
        self._close()
        if self._path is not None:
            with contextlib.suppress(FileNotFoundError):
                self._path.unlink()


class StreamingSMTP(SMTP):
    """aiosmtpd's SMTP protocol receiving DATA into a ``DataSink`` (bytes only: no
    ``decode_data``). ``spill_dir``: where large mails are written (the system's temp dir when
    None)."""

    def __init__(self, handler: Any, spill_dir: Path | None = None, **kwargs: Any) -> None:
        if kwargs.get("decode_data"):
            raise ValueError("StreamingSMTP receives bytes only (decode_data=False)")
        super().__init__(handler, **kwargs)
        self._spill_dir = spill_dir

    def _create_envelope(self) -> StreamedEnvelope:
        return StreamedEnvelope()

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        envelope = self.envelope
        assert isinstance(envelope, StreamedEnvelope)
        if not envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        sink = DataSink(self._spill_dir)
        try:
            state = await self._receive(sink)
            received = await sink.finish() if state is _State.NOMINAL else None
            if received is None:
                failed = state is _State.NOMINAL
                await self.push((_State.NOT_WRITTEN if failed else state).value)
                self._set_post_data_state()  # type: ignore[no-untyped-call]
                return
            envelope.received = received
            if isinstance(envelope.received, bytes):
                envelope.content = envelope.original_content = envelope.received
            status = await self._call_handler_hook("DATA")
            self._set_post_data_state()  # type: ignore[no-untyped-call]
            await self.push("250 OK" if status is MISSING else status)
        finally:
            sink.discard()

    async def _receive(self, sink: DataSink) -> _State:
        """Read up to the lone dot, as aiosmtpd does, but a buffer at a time: whole lines to
        ``sink``, unstuffed. aiosmtpd reads a line at a time, a few microseconds of Python
        each; twenty mails of 10 MB are 3.5 million lines, which kept a NOOP on another session
        waiting for 0.4 s. Here lines are found, checked and unstuffed by bytes methods."""
        state, size, turn = _State.NOMINAL, 0, 0
        tail, at_start = b"", True  # the line not ended yet; whether ``tail`` is its start
        limit, longest = self.data_size_limit, self.line_length_limit
        while self.transport is not None:
            try:
                chunk = await self._reader.read(READ_BYTES)
            except asyncio.CancelledError:
                self._writer.close()
                raise
            if not chunk:
                break
            data, begins = tail + chunk, at_start
            cut = data.rfind(b"\r\n") + 2  # whole lines up to ``cut``; 1 when there are none
            whole, tail = (data[:cut], data[cut:]) if cut > 1 else (b"", data)
            end = _lone_dot(whole, begins)
            if end >= 0:
                self._unread(whole[end + 3 :] + tail)  # what a pipelining client sent next
                whole, tail = whole[:end], b""
            at_start = begins if cut <= 1 else True
            if len(tail) > longest:  # too long already: only where it ends still matters
                tail, at_start = tail[-1:], False
            size += len(whole)
            if state is _State.NOMINAL and limit and size > limit:
                state = _State.TOO_MUCH
                sink.drop()
            if state is _State.NOMINAL and (not at_start or _too_long(whole, longest)):
                state = _State.TOO_LONG
                sink.drop()
            if state is _State.NOMINAL and whole and sink.add(_unstuffed(whole, begins)):
                await sink.flush()
            if end >= 0:
                return state
            if size - turn >= YIELD_BYTES:
                turn = size
                await asyncio.sleep(0)
        raise ConnectionResetError("connection lost during DATA")  # never a mail cut short

    def _unread(self, data: bytes) -> None:
        """Give back what was read past the end of DATA. asyncio's StreamReader has no public
        way to; its buffer (``_buffer``, a bytearray from 3.7 to 3.13) is what its reads take."""
        if data:
            self._reader._buffer[:0] = data  # type: ignore[attr-defined]


def _lone_dot(lines: bytes, begins: bool) -> int:
    """Where the line holding only a dot (the end of DATA) starts in ``lines``, or -1;
    ``begins``: whether ``lines`` starts at the start of a line."""
    if begins and lines.startswith(b".\r\n"):
        return 0
    found = lines.find(b"\r\n.\r\n")
    return found + 2 if found >= 0 else -1


def _too_long(lines: bytes, longest: int) -> bool:
    """Whether a line of ``lines`` (CRLF included) is longer than ``longest`` octets."""
    return bool(lines) and max(map(len, lines.split(b"\r\n"))) + 2 > longest


def _unstuffed(lines: bytes, begins: bool) -> bytes:
    """Whole lines with the leading dot of each dot-stuffed line removed (RFC 5321 4.5.2)."""
    unstuffed = lines.replace(b"\r\n.", b"\r\n")
    return unstuffed[1:] if begins and unstuffed[:1] == b"." else unstuffed
