"""The typed context one stored mail carries through the pipeline, and the outcomes it can reach."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.app.settings import Settings
from helpdesk.domain.auth import DnsFunc
from helpdesk.domain.commands.plan import Plan
from helpdesk.domain.credentials import Scanned
from helpdesk.domain.mail.classify import Classification
from helpdesk.domain.mail.clean import Cleaned
from helpdesk.domain.mail.message import Address, ParsedMail
from helpdesk.domain.match import ThreadMatch
from storage.models import Agent, Customer, InboundRaw, Outbox, Ticket, Timer

HEAD_BYTES = 256 * 1024  # of a large mail kept in its context once decoded (``Envelope.head``)


class Outcome(enum.StrEnum):
    NEW_TICKET = "new_ticket"
    REPLY = "reply"
    LINKED_TICKET = "linked_ticket"
    DUPLICATE = "duplicate"
    AUTO_REPLY_NOTED = "auto_reply_noted"
    IGNORED = "ignored"
    BOUNCE_NOTED = "bounce_noted"
    BLOCKED = "blocked"
    REJECTED = "rejected"
    COMMANDS = "commands"
    ANSWERED = "answered"
    QUARANTINED = "quarantined"
    HELD = "held"  # not processed yet: it answers a mail still waiting (stays received)


@dataclass(frozen=True)
class Envelope:
    """What the edge stored beside the raw bytes.

    ``raw`` is the whole mail unless ``whole`` is false: a large mail decoded ahead carries
    only its first ``HEAD_BYTES`` (what the stages after decoding read, the automated stage's
    scan included), and ``whole_raw`` reads the rest from storage for the one stage that needs
    it (the DKIM check of an agent's commands)."""

    mail_id: int | None
    raw: bytes
    envelope_from: str
    envelope_to: tuple[str, ...]
    received_at: datetime
    source: str
    peer: str = ""  # the address of the client that handed the mail over (SMTP)
    whole: bool = True

    def head(self) -> Envelope:
        """This envelope with only the start of a large mail (decoded, it is not read again)."""
        if len(self.raw) <= HEAD_BYTES:
            return self
        return replace(self, raw=self.raw[:HEAD_BYTES], whole=False)


def whole_raw(envelope: Envelope, session: Session) -> bytes:
    if envelope.whole or envelope.mail_id is None:
        return envelope.raw
    query = select(InboundRaw.raw).where(InboundRaw.mail_id == envelope.mail_id)
    return session.scalar(query) or envelope.raw


@dataclass(frozen=True)
class Env:
    """What stages may use besides the context: the unit of work, the settings, the clock."""

    session: Session
    settings: Settings
    secret: bytes
    now: datetime
    dkim_dns: DnsFunc | None = None
    previous_secrets: tuple[bytes, ...] = ()  # rotated out: they verify reply addresses only


@dataclass(frozen=True)
class Decision:
    stage: str
    text: str


@dataclass
class MailContext:
    envelope: Envelope
    parsed: ParsedMail | None = None
    classification: Classification | None = None
    sender: Address | None = None
    text: str | None = None
    cleaned: Cleaned | None = None  # worked out ahead for the mail's own text (``clean.tidy``)
    scanned: Scanned | None = None  # its first-mail text looked at for secrets, ahead
    body: str = ""
    content_hash: str = ""
    customer: Customer | None = None
    agent: Agent | None = None
    match: ThreadMatch | None = None
    ticket: Ticket | None = None
    outcome: Outcome | None = None
    reason: str = ""
    plan: Plan | None = None
    applied: bool = False  # the apply stage carried out the agent's plan
    customer_close: bool = False
    help_requested: bool = False
    notice_agent_id: int | None = None
    outbox: list[Outbox] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)  # set by this mail: each wants a wake-up
    trace: list[Decision] = field(default_factory=list)

    def decide(self, stage: str, text: str) -> None:
        self.trace.append(Decision(stage, text))

    def finish(self, stage: str, outcome: Outcome, reason: str) -> None:
        """End the pipeline for this mail with ``outcome``; later stages do not run."""
        self.outcome, self.reason = outcome, reason
        self.decide(stage, f"{outcome.value}: {reason}")

    @property
    def new_text(self) -> str:
        """The text the stages after ``commands`` work on: the mail's, less any command lines."""
        return self.mail.text if self.text is None else self.text

    @property
    def mail(self) -> ParsedMail:
        assert self.parsed is not None, "the parse stage runs first"
        return self.parsed
