"""Outbound transports: SMTP to a smarthost, or a Maildir folder (the embedded default).

Each tells a temporary failure (4xx, connection trouble: try again later) from a permanent one
(5xx: stop, the address is failing). A refused login is temporary: it is the smarthost's
settings that are wrong, not the recipient's address, and the mail waits until they are fixed.
TLS verifies the smarthost's certificate and name (the system's CAs, or ``cafile``); credentials
never cross the network in clear (``transport_for`` refuses them without TLS, but on loopback).
"""

from __future__ import annotations

import contextlib
import mailbox
import smtplib
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from helpdesk.app.redact import masked
from helpdesk.domain.net import is_loopback


class DeliveryError(Exception):
    def __init__(self, reply: str, permanent: bool) -> None:
        super().__init__(reply)
        self.reply = reply
        self.permanent = permanent


class Transport(Protocol):
    def send(self, envelope_from: str, recipient: str, data: bytes) -> str:
        """Hand the mail over; returns the receiving side's answer, or raises DeliveryError."""
        ...


class MaildirTransport:
    def __init__(self, path: Path) -> None:
        # made here, not by mailbox (which checks, then creates): two workers starting at once
        # would both find it missing, and one of them fail on the other's directory
        for part in ("tmp", "new", "cur"):
            (path / part).mkdir(mode=0o700, parents=True, exist_ok=True)
        self._box = mailbox.Maildir(path, create=False)

    def send(self, envelope_from: str, recipient: str, data: bytes) -> str:
        return f"stored in maildir as {self._box.add(data)}"


@dataclass(frozen=True)
class SmtpTransport:
    """SMTP to a smarthost, one open connection per worker thread, reused from mail to mail."""

    host: str
    port: int
    username: str = ""
    password: str = ""
    tls: str = ""
    timeout: float = 30.0
    cafile: str = ""
    _local: threading.local = field(default_factory=threading.local, repr=False, compare=False)

    def send(self, envelope_from: str, recipient: str, data: bytes) -> str:
        reused = getattr(self._local, "client", None) is not None
        try:
            return self._send(envelope_from, recipient, data)
        except smtplib.SMTPAuthenticationError as exc:
            self._drop()
            reply = f"login refused by the smarthost: {exc.smtp_code} {_text(exc.smtp_error)}"
            raise DeliveryError(reply, permanent=False) from exc
        except smtplib.SMTPResponseException as exc:
            self._reset()
            reply = f"{exc.smtp_code} {_text(exc.smtp_error)}"
            raise DeliveryError(reply, permanent=500 <= exc.smtp_code < 600) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            if reused:  # the server closed an idle connection: once more on a fresh one
                return self.send(envelope_from, recipient, data)
            raise DeliveryError(f"connection: {exc}", permanent=False) from exc

    def _send(self, envelope_from: str, recipient: str, data: bytes) -> str:
        client = self._client()
        options: list[str] = []
        if needs_smtputf8(envelope_from, recipient, data):
            if not client.has_extn("smtputf8"):
                reply = f"the smarthost does not offer SMTPUTF8, which mail to {recipient} needs"
                raise DeliveryError(reply, permanent=True)
            options = ["SMTPUTF8", "BODY=8BITMIME"] if client.has_extn("8bitmime") else ["SMTPUTF8"]
        client.command_encoding = "utf-8" if options else "ascii"
        _expect(client.mail(envelope_from, options))
        _expect(client.rcpt(recipient))
        code, text = client.data(data)
        _expect((code, text))
        return f"{code} {text.decode(errors='replace')}"

    def _client(self) -> smtplib.SMTP:
        client: smtplib.SMTP | None = getattr(self._local, "client", None)
        if client is None:
            client = self._connect()
            self._local.client = client
        return client

    def _reset(self) -> None:
        try:
            self._client().rset()
        except (OSError, smtplib.SMTPException):
            self._drop()

    def _drop(self) -> None:
        client: smtplib.SMTP | None = getattr(self._local, "client", None)
        self._local.client = None
        if client is not None:
            with contextlib.suppress(OSError):
                client.close()

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context(cafile=self.cafile or None)
        if self.tls == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=context
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        client.ehlo()
        if self.tls == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if self.username:
            client.login(self.username, self.password)
        return client


def needs_smtputf8(envelope_from: str, recipient: str, data: bytes) -> bool:
    """An international address in the envelope, or UTF-8 in the headers (RFC 6531/6532)."""
    head = data.split(b"\r\n\r\n", 1)[0]
    return not (envelope_from.isascii() and recipient.isascii() and head.isascii())


def _expect(reply: tuple[int, bytes]) -> None:
    code, text = reply
    if code >= 400:
        raise smtplib.SMTPResponseException(code, text)


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def transport_for(url: str, timeout: float = 30.0) -> Transport:
    """``maildir:PATH``, ``smtp://[user:pass@]host[:port][?starttls=1][&cafile=PATH]`` or
    ``smtps://…``."""
    if url.startswith("maildir:"):
        return MaildirTransport(Path(url.removeprefix("maildir:")))
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError(
            f"HELPDESK_OUTBOUND must be maildir:PATH or smtp://host:port, not {masked(url)!r}"
        )
    query = parse_qs(parts.query)
    starttls = query.get("starttls", ["0"])[0] in ("1", "true", "yes")
    tls = "smtps" if parts.scheme == "smtps" else "starttls" if starttls else ""
    if parts.username and not tls and not is_loopback(parts.hostname):
        raise ValueError(
            "HELPDESK_OUTBOUND: a password is sent to a smarthost only over TLS "
            "(add ?starttls=1, or use smtps://)"
        )
    return SmtpTransport(
        host=parts.hostname,
        port=parts.port or (465 if tls == "smtps" else 25),
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        tls=tls,
        timeout=timeout,
        cafile=query.get("cafile", [""])[0],
    )
