"""A real aiosmtpd server standing in for the smarthost: keeps what it accepts, answers as told."""

from __future__ import annotations

import socket
import ssl
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

OPEN_SINKS: list[Sink] = []


@dataclass(frozen=True)
class Received:
    envelope_from: str
    recipients: tuple[str, ...]
    raw: bytes
    encrypted: bool = False
    login: str = ""

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
    """With ``tls``: STARTTLS required, or TLS from the first byte with ``smtps``; with
    ``login``: AUTH required (only over TLS), with that user name and password; without
    ``smtputf8``, an old smarthost that takes ASCII addresses only."""

    def __init__(
        self,
        tls: ssl.SSLContext | None = None,
        smtps: bool = False,
        login: tuple[str, str] | None = None,
        smtputf8: bool = True,
    ) -> None:
        self.received: list[Received] = []
        self.replies: list[str] = []  # answers to DATA, used in order, then 250
        self.refused = 0
        self._lock = threading.Lock()
        self.port = free_port()
        self._login = login
        self.smtps = tls is not None and smtps
        options: dict[str, Any] = {}
        if tls is not None and smtps:  # aiosmtpd sees TLS only when it came by STARTTLS
            options.update(ssl_context=tls, auth_require_tls=False)
        elif tls is not None:
            options.update(tls_context=tls, require_starttls=True)
        if login is not None:
            options.update(authenticator=self._authenticate, auth_required=True)
        options.update(enable_SMTPUTF8=smtputf8)  # as smarthosts do: mail to ünï@… goes out
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **options)

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
                Received(
                    envelope.mail_from,
                    tuple(envelope.rcpt_tos),
                    envelope.original_content,
                    encrypted=server.transport.get_extra_info("ssl_object") is not None,
                    login=session.auth_data.login.decode() if session.authenticated else "",
                )
            )
        return "250 2.0.0 OK: queued"

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        expected = self._login
        given = (
            (data.login.decode(), data.password.decode())
            if isinstance(data, LoginPassword)
            else None
        )
        success = expected is not None and given == expected
        return AuthResult(success=success, handled=False, auth_data=data if success else None)

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.recipients]
