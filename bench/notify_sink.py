"""The notification benchmark's sink, a process of its own (``notify.py _sink``): an aiosmtpd
server that accepts everything and prints one JSON line per mail (arrival time, threading
headers), and what the benchmark makes of those lines as they come in."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

from aiosmtpd.smtp import SMTP
from local_smtp import serve_smtp

_HEADERS = BytesHeaderParser(policy=compat32)


def norm_id(value: str | None) -> str:
    """A Message-ID without brackets or folding whitespace, for matching."""
    return "".join((value or "").split()).strip("<>")


def decoded_id(value: str | None) -> tuple[str, bool]:
    """A header's Message-ID, normalised, and whether it came RFC 2047-encoded (=?utf-8?q?...).

    An encoded In-Reply-To is not a msg-id to any mail client: threading breaks. It is decoded
    here all the same, so that the latency is measured, and counted apart.
    """
    text = "".join((value or "").splitlines())
    if "=?" not in text:
        return norm_id(text), False
    return norm_id(str(make_header(decode_header(text)))), True


# --- the sink (child process) --------------------------------------------------------------------


class SinkHandler:
    """Accepts everything; prints one JSON line per mail: arrival time and the threading headers."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        arrived = time.time()
        headers = _HEADERS.parsebytes(envelope.original_content or b"", headersonly=True)
        in_reply_to, encoded = decoded_id(headers.get("In-Reply-To"))
        record = {
            "t": arrived,
            "irt": in_reply_to,
            "irt_encoded": encoded,
            "mid": norm_id(headers.get("Message-ID")),
            "rcpt": [str(r).lower() for r in envelope.rcpt_tos],
            "auto": str(headers.get("Auto-Submitted", "")).strip().lower(),
        }
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()
        return "250 2.0.0 OK: queued"


def sink_main(argv: Sequence[str]) -> int:
    handler = SinkHandler()

    def factory() -> SMTP:
        # A fixed hostname: aiosmtpd would otherwise call socket.getfqdn() per connection.
        return SMTP(handler, hostname="sink.bench", ident="bench sink", decode_data=False)

    asyncio.run(serve_smtp(factory, "sink:"))
    return 0


@dataclass
class Arrival:
    at: float
    in_reply_to: str
    message_id: str
    recipients: list[str]
    auto_submitted: str
    in_reply_to_encoded: bool


class Arrivals:
    """The sink's records, as they come in."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self.all: list[Arrival] = []
        self.acks: dict[str, Arrival] = {}  # customer Message-ID -> first ack for it
        self.duplicate_acks = 0
        self.by_message_id: dict[str, float] = {}

    def add(self, line: bytes) -> None:
        record = json.loads(line)
        arrival = Arrival(
            record["t"],
            record["irt"],
            record["mid"],
            record["rcpt"],
            record["auto"],
            record["irt_encoded"],
        )
        with self._lock:
            self.all.append(arrival)
            self.by_message_id.setdefault(arrival.message_id, arrival.at)
            if arrival.auto_submitted == "auto-replied" and arrival.in_reply_to:
                if arrival.in_reply_to in self.acks:
                    self.duplicate_acks += 1
                else:
                    self.acks[arrival.in_reply_to] = arrival
            self._lock.notify_all()

    def wait(self, done: Callable[[], bool], timeout: float, quiet: float) -> bool:
        """Until ``done()``, ``timeout`` seconds, or ``quiet`` seconds without a new arrival."""
        deadline = time.monotonic() + timeout
        with self._lock:
            seen, last_change = len(self.all), time.monotonic()
            while not done():
                now = time.monotonic()
                if len(self.all) != seen:
                    seen, last_change = len(self.all), now
                if now >= deadline or now - last_change >= quiet:
                    return False
                self._lock.wait(timeout=0.2)
        return True
