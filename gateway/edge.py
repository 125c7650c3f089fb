"""The SMTP edge: check the recipient, the size and the sender; store; answer.

Nothing else runs before the 250: no MIME parsing, no ORM. A recipient is a support address or a
``support+<token>`` address whose signature verifies (else 550 5.1.1); the size is announced in
EHLO and enforced by aiosmtpd (552); a blocked sender gets 550 5.7.1 with the reason; a storage
failure gets 451 4.3.0 so the client retries. An unexpected error never reaches the client as a
traceback. DATA is received by ``gateway.data_stream``: a large mail reaches the handler as a
file, never whole in memory.
"""

from __future__ import annotations

import logging
import ssl
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from gateway.data_stream import StreamedEnvelope
from gateway.guard import GuardedSMTP, Sessions
from gateway.intake import Arrival, Intake, Stored
from helpdesk.app.blocks import BlockList
from helpdesk.domain import tokens
from helpdesk.domain.mail.headers import header_facts
from storage.raw_file import RawFile

log = logging.getLogger("helpdesk.smtp")


class RecipientPolicy:
    def __init__(
        self, support_addresses: tuple[str, ...], secret: bytes, previous: tuple[bytes, ...] = ()
    ) -> None:
        self._support = frozenset(support_addresses)
        self._secret, self._previous = secret, previous

    def accepts(self, address: str) -> bool:
        base, tag = tokens.split_plus(address)
        if base not in self._support:
            return False
        return not tag or tokens.verify(self._secret, tag, self._previous) is not None


def safe(text: str) -> str:
    """Wire text fit for a log line or an SMTP reply: printable, one line, bounded."""
    return "".join(c if c.isprintable() else "?" for c in text)[:200]


def received(envelope: Envelope) -> bytes | RawFile:
    """The mail of a DATA: from ``gateway.data_stream`` (a large one in a file), else aiosmtpd's."""
    if isinstance(envelope, StreamedEnvelope) and envelope.received is not None:
        return envelope.received
    return envelope.original_content or b""


class SupportHandler:
    def __init__(
        self,
        intake: Intake,
        recipients: RecipientPolicy,
        blocks: BlockList,
        max_recipients: int = 100,
    ) -> None:
        self._intake = intake
        self._recipients = recipients
        self._blocks = blocks
        self._max_recipients = max_recipients
        self.spill_dir = intake.spill_dir

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reason = self._blocks.reason(address)
        if reason is not None:
            return f"550 5.7.1 {safe(reason)}"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= self._max_recipients:
            return "452 4.5.3 Too many recipients"
        if not self._recipients.accepts(address):
            return f"550 5.1.1 <{safe(address)}>: no such support address"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = received(envelope)
        facts = header_facts(raw.head if isinstance(raw, RawFile) else raw)
        reason = self._blocks.reason(facts.from_address) if facts.from_address else None
        if reason is not None:
            return f"550 5.7.1 {safe(reason)}"
        arrival = Arrival(
            raw=raw,
            envelope_from=envelope.mail_from or "",
            envelope_to=tuple(envelope.rcpt_tos),
            source="smtp",
            peer=str(session.peer[0]) if session.peer else "",
        )
        try:
            receipt = await self._intake.accept(arrival, facts)
        except Exception:
            log.exception("%s: not stored", safe(facts.message_id) or "(no Message-ID)")
            return "451 4.3.0 Could not store the message now; please try again later"
        if receipt.stored is Stored.DUPLICATE:
            return "250 2.0.0 Already received; not stored twice"
        return f"250 2.0.0 Queued as {receipt.mail_id}"

    async def handle_exception(self, error: Exception) -> str:
        log.error("SMTP session error: %s", safe(repr(error)))
        return "451 4.3.0 Internal error; please try again later"


def tls_context(cert: Path | None, key: Path | None) -> ssl.SSLContext | None:
    """The server side of STARTTLS, when a certificate and its key are configured."""
    if cert is None or key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


def make_smtp(
    handler: SupportHandler,
    max_message_bytes: int,
    hostname: str,
    sessions: Sessions,
    tls: ssl.SSLContext | None = None,
) -> Any:
    """A factory for asyncio servers: one SMTP protocol per connection."""

    def factory() -> SMTP:
        return GuardedSMTP(
            handler,
            sessions,
            spill_dir=handler.spill_dir,
            tls_context=tls,
            data_size_limit=max_message_bytes,
            hostname=hostname,
            ident="helpdesk gateway",
            decode_data=False,
            enable_SMTPUTF8=True,  # international addresses (RFC 6531): refused, they bounce
        )

    return factory
