"""The SMTP edge's limits, so that no client can take the listener from everyone else.

Like Postfix's anvil and ``smtpd_junk_command_limit``: sessions are capped per client address and
in all (a refused client hears ``421 4.7.0`` and the connection closes before any work); an idle
session is closed after ``smtp_idle_seconds``, and any session after ``smtp_session_seconds``,
since a command (NOOP, say) resets the idle clock; NOOP, RSET, VRFY and HELP have small budgets
per session. Errors the event loop logs when it cannot accept (out of file descriptors) are
logged once per ten seconds, with the count of those left out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from gateway.data_stream import StreamingSMTP
from helpdesk.app.settings import Settings

log = logging.getLogger("helpdesk.smtp")
JUNK_BUDGET = {"NOOP": 10, "RSET": 20, "VRFY": 5, "EXPN": 5, "HELP": 5, "*": 100_000}


@dataclass(frozen=True)
class Limits:
    idle_seconds: float
    session_seconds: float
    per_client: int
    total: int

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            settings.smtp_idle_seconds,
            settings.smtp_session_seconds,
            settings.smtp_sessions_per_client,
            settings.smtp_max_sessions,
        )


class Sessions:
    """The open sessions by client address, and those receiving a mail (used on the event loop's
    thread only). Draining (a graceful stop), new sessions are refused with 421 4.3.2."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._open: Counter[str] = Counter()
        self.protocols: set[GuardedSMTP] = set()
        self.receiving = 0  # sessions between DATA and its answer
        self.draining = False

    def refusal(self, client: str) -> str | None:
        if self.draining:
            return "421 4.3.2 Service shutting down; try again later"
        if sum(self._open.values()) >= self.limits.total:
            return "421 4.7.0 Too many connections; try again later"
        if self._open[client] >= self.limits.per_client:
            return "421 4.7.0 Too many connections from your address; try again later"
        return None

    def opened(self, client: str) -> None:
        self._open[client] += 1

    def closed(self, client: str) -> None:
        self._open[client] -= 1
        if self._open[client] <= 0:
            del self._open[client]

    async def drain(self, timeout: float) -> None:
        """Refuse new sessions, let each mail being received finish and be answered (its 250
        comes after its commit), then close every session with 421 4.3.2."""
        self.draining = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.receiving and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for protocol in list(self.protocols):
            protocol.close_with(b"421 4.3.2 Service shutting down; try again later\r\n")


class GuardedSMTP(StreamingSMTP):
    """The SMTP protocol (DATA streamed: ``gateway.data_stream``), counted against ``Sessions``
    and bounded in time."""

    def __init__(self, handler: Any, sessions: Sessions, **kwargs: Any) -> None:
        limits = sessions.limits
        super().__init__(
            handler, timeout=limits.idle_seconds, command_call_limit=JUNK_BUDGET, **kwargs
        )
        self._sessions = sessions
        self._client: str | None = None
        self._refused = False
        self._lifetime: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._client is None and not self._refused:  # not the STARTTLS hand-over
            peer = transport.get_extra_info("peername")
            client = str(peer[0]) if peer else ""
            refusal = self._sessions.refusal(client)
            if refusal is not None:
                self._refused = True
                transport.write(refusal.encode() + b"\r\n")  # type: ignore[attr-defined]
                transport.close()
                return
            self._sessions.opened(client)
            self._sessions.protocols.add(self)
            self._client = client
            limit = self._sessions.limits.session_seconds
            self._lifetime = asyncio.get_running_loop().call_later(limit, self._too_long)
        super().connection_made(transport)

    def _too_long(self) -> None:
        self.close_with(b"421 4.4.2 Session too long; closing\r\n")

    def close_with(self, reply: bytes) -> None:
        if self.transport is not None:
            self.transport.write(reply)  # type: ignore[attr-defined]
            self.transport.close()

    async def smtp_MAIL(self, arg: str) -> None:
        if self._sessions.draining:  # no new mail once the stop has begun
            self.close_with(b"421 4.3.2 Service shutting down; try again later\r\n")
            return
        await super().smtp_MAIL(arg)

    async def smtp_DATA(self, arg: str) -> None:
        self._sessions.receiving += 1
        try:
            await super().smtp_DATA(arg)
        finally:
            self._sessions.receiving -= 1

    def data_received(self, data: bytes) -> None:
        if not self._refused:
            super().data_received(data)

    def eof_received(self) -> bool | None:
        return None if self._refused else super().eof_received()

    def connection_lost(self, error: Exception | None) -> None:
        if self._refused:
            return
        if self._lifetime is not None:
            self._lifetime.cancel()
        if self._client is not None:
            self._sessions.closed(self._client)
            self._sessions.protocols.discard(self)
            self._client = None
        super().connection_lost(error)


class OncePer(logging.Filter):
    """Let a message through once per ``seconds``; the next one says how many were left out."""

    def __init__(self, seconds: float = 10.0) -> None:
        super().__init__()
        self.seconds = seconds
        self._last: dict[str, float] = {}
        self._dropped: Counter[str] = Counter()

    def filter(self, record: logging.LogRecord) -> bool:
        key, now = str(record.msg), time.monotonic()
        if now - self._last.get(key, -self.seconds) < self.seconds:
            self._dropped[key] += 1
            return False
        self._last[key] = now
        if self._dropped[key]:
            record.msg = f"{record.msg} (and {self._dropped.pop(key)} more like it)"
        return True


def quiet_accept_errors(seconds: float = 10.0) -> None:
    """Bound what a flood of connections makes the event loop and aiosmtpd log."""
    for name in ("asyncio", "mail.log"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, OncePer) for f in logger.filters):
            logger.addFilter(OncePer(seconds))
