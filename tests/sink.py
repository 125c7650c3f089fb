"""A real aiosmtpd server standing in for the smarthost: keeps what it accepts, answers as told."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

OPEN_SINKS: list[Sink] = []


@dataclass(frozen=True)
class Received:
    envelope_from: str
    recipients: tuple[str, ...]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def text(self) -> str:
        """Every text part, decoded: what a reader of the mail could see."""
        parts = []
        for part in self.message.walk():
            if part.get_content_maintype() == "text":
                parts.append(str(part.get_content()))
        return "\n".join(parts)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Sink:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.replies: list[str] = []  # answers to DATA, used in order, then 250
        self.refused = 0
        self._lock = threading.Lock()
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def start(self) -> Sink:
        self._controller.start()
        OPEN_SINKS.append(self)
        return self

    def stop(self) -> None:
        self._controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            if self.replies:
                reply = self.replies.pop(0)
                if not reply.startswith("250"):
                    self.refused += 1
                    return reply
            self.received.append(
                Received(envelope.mail_from, tuple(envelope.rcpt_tos), envelope.original_content)
            )
        return "250 2.0.0 OK: queued"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.recipients]
