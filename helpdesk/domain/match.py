"""Thread matching: which ticket an inbound mail belongs to, decided over gathered facts.

Order (DESIGN.md): a valid token in any recipient address; one of our Message-IDs in
In-Reply-To/References; ``[TKT-…]`` in the subject only from the ticket's customer or a participant.
A reference to a *customer's* Message-ID (a reply-all to the first mail) joins too, but, like the
subject, only from a party of the ticket: those ids are seen by everyone on the thread.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from helpdesk.domain import tokens
from helpdesk.domain.vocabulary import Status

_NUMBER = re.compile(r"\[(TKT-[0-9A-Z]{4,12})\]", re.I)


@dataclass(frozen=True)
class TicketFacts:
    id: int
    number: str
    status: Status
    resolved_at: datetime | None
    parties: frozenset[str]


@dataclass(frozen=True)
class ThreadFacts:
    by_token: TicketFacts | None = None
    token: tokens.Token | None = None
    by_our_reference: TicketFacts | None = None
    by_their_reference: TicketFacts | None = None
    by_subject: TicketFacts | None = None


@dataclass(frozen=True)
class ThreadMatch:
    ticket: TicketFacts | None
    reason: str
    token: tokens.Token | None = None


def subject_number(subject: str) -> str | None:
    found = _NUMBER.search(subject)
    return found.group(1).upper() if found else None


def recipient_tokens(
    addresses: Iterable[str],
    support_addresses: tuple[str, ...],
    secret: bytes,
    previous: tuple[bytes, ...] = (),
) -> list[tokens.Token]:
    """Every validly signed token among ``addresses`` that sits on a support address."""
    found = []
    for address in addresses:
        base, tag = tokens.split_plus(address)
        token = tokens.verify(secret, tag, previous) if tag and base in support_addresses else None
        if token is not None and token not in found:
            found.append(token)
    return found


def match_thread(facts: ThreadFacts, sender: str, sender_is_agent: bool) -> ThreadMatch:
    if facts.by_token is not None:
        return ThreadMatch(facts.by_token, "signed reply token", facts.token)
    if facts.by_our_reference is not None:
        return ThreadMatch(facts.by_our_reference, "references our mail")
    trusted = sender_is_agent or _is_party(facts.by_their_reference, sender)
    if facts.by_their_reference is not None and trusted:
        return ThreadMatch(facts.by_their_reference, "reply on the thread")
    if facts.by_subject is not None:
        if sender_is_agent or _is_party(facts.by_subject, sender):
            return ThreadMatch(facts.by_subject, "ticket number in subject")
        return ThreadMatch(
            None,
            f"subject names {facts.by_subject.number} but {sender} is not on it: new ticket",
        )
    return ThreadMatch(None, "no token, reference or ticket number: new ticket")


def _is_party(ticket: TicketFacts | None, sender: str) -> bool:
    return ticket is not None and sender in ticket.parties
