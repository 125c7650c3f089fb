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
# A socket read brings up to 256 KB, which the reader hands over line by line without yielding:
# twenty sessions doing that in a row kept a NOOP on another one waiting. Each yields this often.
YIELD_BYTES = 64 * 1024
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
        """Read up to the lone dot, as aiosmtpd does; each whole line to ``sink``."""
        state, size, partial, turn = _State.NOMINAL, 0, False, 0
        limit = self.data_size_limit
        while self.transport is not None:
            try:
                line: bytes = await self._reader.readuntil(b"\r\n")
            except asyncio.CancelledError:
                self._writer.close()
                raise
            except asyncio.LimitOverrunError as error:
                if state is _State.NOMINAL:
                    state = _State.TOO_LONG
                    sink.drop()
                line = await self._reader.read(error.consumed)
            if not partial and line == b".\r\n":
                return state
            size += len(line)
            if size - turn >= YIELD_BYTES:
                turn = size
                await asyncio.sleep(0)
            if state is _State.NOMINAL and limit and size > limit:
                state = _State.TOO_MUCH
                sink.drop()
            partial = not line.endswith(b"\r\n")
            if state is _State.NOMINAL and len(line) > self.line_length_limit:
                state = _State.TOO_LONG  # aiosmtpd's own check, past the reader's limit
                sink.drop()
            if state is _State.NOMINAL and sink.add(line[1:] if line[:1] == b"." else line):
                await sink.flush()
        raise ConnectionResetError("connection lost during DATA")  # never a mail cut short
